"""The `main` a bench judge's acceptance tests import: every use of it goes to the project's own
process (_serve.py) and comes back as plain data, so no code of the project runs in the judge.

bench/judge.py writes this file as main.py into the judge's folder, with CONFIG filled in. Run as
`python main.py ARGS` (a test running the program), it runs the project's main.py from the copy
beside it instead.
"""

import builtins
import glob
import importlib.util
import operator
import os
import socket
import struct
import sys
import threading

CONFIG: dict = {}  # filled in by bench/judge.py: the codec's path, the socket, main.py's names
HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    site = sorted(glob.glob(os.path.join(HERE, ".project/.venv/lib/python*/site-packages")))[:1]
    if site:
        os.environ["PYTHONPATH"] = site[0]
    target = os.path.join(HERE, ".project", "main.py")
    os.execv(sys.executable, [sys.executable, target, *sys.argv[1:]])

_spec = importlib.util.spec_from_file_location("_autocoder_codec", CONFIG.get("codec", ""))
_codec = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_codec)
_lock = threading.Lock()
_sock: list = []
__all__ = list(CONFIG.get("names", []))


class RemoteError(Exception):
    """What the program raised that is no builtin exception, or a failure to reach it."""


def _recv(size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = _sock[0].recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise RemoteError("the program ended")
        data += chunk
    return data


def _ask(op: str, ref: dict, arg: object = None) -> object:
    """One request to the program's process; its answer as plain data (or handles)."""
    body = _codec.dumps({"op": op, "ref": ref, "arg": _codec.encode(arg, _ref)}).encode()
    with _lock:
        if not _sock:
            _sock.append(socket.socket(fileno=CONFIG["fd"]))
        _sock[0].sendall(struct.pack(">I", len(body)) + body)
        (size,) = struct.unpack(">I", _recv(4))
        reply = _codec.loads(_recv(size))
    if type(reply) is dict and type(reply.get("raise")) is list and len(reply["raise"]) == 2:
        name, message = map(str, reply["raise"])
        kind = getattr(builtins, name, None)
        if isinstance(kind, type) and issubclass(kind, Exception) and kind is not RemoteError:
            raise kind(message)
        raise RemoteError(f"{name}: {message}")
    try:
        return _codec.decode(reply["value"], other=_handle)
    except (KeyError, TypeError, ValueError) as exc:
        raise RemoteError(f"a bad answer: {exc}") from None


def _ref(value: object) -> dict:
    if isinstance(value, Remote):
        return {"ref": object.__getattribute__(value, "_ref")}
    raise TypeError(f"not plain data: {type(value).__name__}")


def _handle(tag: str, body: object) -> object:
    if tag == "handle" and type(body) is list and len(body) == 2 and type(body[0]) is int:
        return Remote({"h": body[0]}, opaque=True)
    raise ValueError(f"unknown tag {tag!r}")


def _exact(kind: type, value: object) -> object:
    if type(value) is not kind:
        raise RemoteError(f"the program answered {type(value).__name__}, not {kind.__name__}")
    return value


class Remote:
    """A name of main, or a value the program holds: each use is asked of the program."""

    __slots__ = ("_opaque", "_ref")

    def __init__(self, ref: dict, opaque: bool = False) -> None:
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_opaque", opaque)  # known not to be plain data

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):  # pytest's and Python's own probes never reach the program
            raise AttributeError(name)
        return Remote({**self._ref, "attrs": [*self._ref.get("attrs", []), name]})

    def __call__(self, *args: object, **kwargs: object) -> object:
        return _ask("call", self._ref, [list(args), kwargs])

    def __len__(self) -> int:
        return _exact(int, _ask("len", self._ref))

    def __iter__(self) -> object:
        it = _ask("iter", self._ref)
        return it if isinstance(it, Remote) else iter(it)

    def __next__(self) -> object:
        return _ask("next", self._ref)

    def __getitem__(self, key: object) -> object:
        return _ask("getitem", self._ref, key)

    def __contains__(self, item: object) -> bool:
        return _exact(bool, _ask("contains", self._ref, item))

    def __bool__(self) -> bool:
        return _exact(bool, _ask("bool", self._ref))

    def __str__(self) -> str:
        return _exact(str, _ask("str", self._ref))

    def __repr__(self) -> str:
        return _exact(str, _ask("repr", self._ref))

    def __hash__(self) -> int:
        return id(self)

    def _compare(self, op: str, other: object) -> object:
        if isinstance(other, Remote):  # two of the program's values: its own comparison
            return _exact(bool, _ask(op, self._ref, other))
        mine = self if self._opaque else _ask("get", self._ref)
        if isinstance(mine, Remote):  # not plain data: it equals no plain value
            return {"eq": False, "ne": True}.get(op, NotImplemented)
        return getattr(operator, op)(mine, other)

    def __eq__(self, other: object) -> object:
        return self._compare("eq", other)

    def __ne__(self, other: object) -> object:
        return self._compare("ne", other)

    def __lt__(self, other: object) -> object:
        return self._compare("lt", other)

    def __le__(self, other: object) -> object:
        return self._compare("le", other)

    def __gt__(self, other: object) -> object:
        return self._compare("gt", other)

    def __ge__(self, other: object) -> object:
        return self._compare("ge", other)


def __getattr__(name: str) -> object:
    if name.startswith("__"):
        raise AttributeError(name)
    return Remote({"name": name})
