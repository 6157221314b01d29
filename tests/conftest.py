"""Shared helpers: replies in the text action format, and a known-good tiny project."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocoder.providers import cassettes

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

GOOD_TEST = """from main import fib


def test_fib():
    assert fib(5) == [0, 1, 1, 2, 3]
"""


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


ROOT = Path(__file__).resolve().parent.parent


def recording(config) -> bool:
    """Whether this pytest run records cassettes (--record-mode other than none) or replays them."""
    return config.getoption("--record-mode") not in (None, "none")


def pytest_recording_configure(config, vcr):
    vcr.register_matcher("canonical_body", cassettes.canonical_body)


@pytest.fixture(scope="session")
def vcr_config():
    """Secrets scrubbed, no timestamps or ports, matching on method + path + canonical JSON body."""
    return cassettes.vcr_config()


@pytest.fixture(scope="module")
def vcr_cassette_dir(request):
    return str(ROOT / "cassettes" / request.node.fspath.purebasename)


@pytest.fixture(autouse=True)
def one_attempt_on_replay(request, monkeypatch):
    """A replay that misses is a failure to report at once, not a fault to retry with backoff."""
    if request.node.get_closest_marker("vcr") and not recording(request.config):
        monkeypatch.setattr("autocoder.providers.faults.MAX_ATTEMPTS", 1)


# the slow kinds of test (pyproject.toml's markers), by the file they are in; show/test_show.py
# marks its browser tests itself. Any of them is also `slow`: `-m "not slow"` leaves them out.
KINDS = {
    "test_model.py": "model",
    "test_server.py": "server",
    "test_ray.py": "ray",
    "test_escapes.py": "sandbox",
    "test_sandbox.py": "sandbox",
    "test_verdicts.py": "sandbox",
}
SLOW = ("model", "server", "ray", "browser", "sandbox")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in KINDS:
            item.add_marker(KINDS[item.path.name])
        if any(item.get_closest_marker(kind) for kind in SLOW):
            item.add_marker("slow")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test whose cassette is missing or no longer matches says which cassette, and how to
    re-record."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and item.get_closest_marker("vcr"):
        cassette = Path(item.funcargs["vcr_cassette_dir"]) / f"{item.name}.yaml"
        state = (
            "recorded, but a request did not match it (the prompt changed?)"
            if cassette.exists()
            else "missing"
        )
        report.sections.append(
            ("cassette", f"{cassette.relative_to(ROOT)}: {state}\nre-record: {cassettes.RERECORD}")
        )


@pytest.fixture(autouse=True)
def private_dirs(monkeypatch, tmp_path_factory):
    """Each test gets its own response cache and user config: nothing leaks between tests or
    from the machine's own ~/.cache and ~/.config."""
    root = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
