"""Shared helpers: replies in the text action format, and a known-good tiny project."""

from __future__ import annotations

import socket

import pytest

GOOD_MAIN = '''def fib(n):
    """First n Fibonacci numbers."""
    out = [0, 1]
    while len(out) < n:
        out.append(out[-1] + out[-2])
    return out[:n]


def main():
    print(fib(10))


if __name__ == "__main__":
    main()
'''

GOOD_TEST = '''from main import fib


def test_fib():
    assert fib(5) == [0, 1, 1, 2, 3]
'''


def reply(action: str, **fields: str) -> str:
    """A model reply in the text action format; multi-line values become fenced blocks."""
    lines = ["Thought: scripted", f"Action: {action}"]
    for name, value in fields.items():
        if "\n" in value:
            lines += [f"{name}:", "```python", value.rstrip("\n"), "```"]
        else:
            lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n"


CREATE = reply("create_project", main=GOOD_MAIN, test=GOOD_TEST)
FINISH = reply("finish", reason="fib works and is tested")


@pytest.fixture(autouse=True)
def no_network(monkeypatch, request):
    """The suite runs offline: any attempt to reach another host fails loudly (except the opt-in
    `live` tests of paid APIs, which skip unless asked for)."""
    if request.node.get_closest_marker("live"):
        return
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise RuntimeError(f"network access blocked in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def private_dirs(monkeypatch, tmp_path_factory):
    """Each test gets its own response cache and user config: nothing leaks between tests or
    from the machine's own ~/.cache and ~/.config."""
    root = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
