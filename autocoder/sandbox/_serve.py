"""The project's side of a bench judge: main.py imported and called in a sandbox of its own.

    python -I _serve.py FD     (cwd: a copy of the project; FD: a socket to the judge's proxy)

The judge (bench/judge.py) runs the acceptance tests in another sandbox against a proxy `main`
(_proxy.py) that sends each use of main here. Requests and answers are plain data (_codec.py); a
value that is not plain data stays here and goes back as a handle, and an instance of a builtin
type's subclass goes back as that builtin's value, so the tests compare real builtins, in a
process that never ran the project's code. main is imported at the first request, not before.
"""

from __future__ import annotations

import builtins
import glob
import importlib
import importlib.util
import operator
import os
import socket
import struct
import sys

LIMIT = 64 << 20  # one message
READY = b"\x06"  # sent once, before anything of the project is imported (bench/judge.py)
COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le}
COMPARE |= {"gt": operator.gt, "ge": operator.ge}


def _codec():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_codec.py")
    spec = importlib.util.spec_from_file_location("_autocoder_codec", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recv(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _builtin(exc: BaseException) -> str:
    """The exception's first builtin class (a project's `class Empty(IndexError)` is an
    IndexError to the tests), else its own name."""
    for kind in type(exc).__mro__:
        if getattr(builtins, kind.__name__, None) is kind and issubclass(kind, Exception):
            return kind.__name__
    return type(exc).__name__


class Server:
    """Answers the proxy's requests until it hangs up."""

    def __init__(self, sock: socket.socket) -> None:
        self.codec, self.sock = _codec(), sock
        self.main, self.handles = None, {}

    def register(self, value: object) -> dict:
        self.handles[len(self.handles)] = value
        return {"handle": [len(self.handles) - 1, type(value).__name__[:100]]}

    def resolve(self, ref: dict) -> object:
        if "name" in ref:
            if self.main is None:
                self.main = importlib.import_module("main")
            value = getattr(self.main, str(ref["name"]))
        else:
            value = self.handles[int(ref["h"])]
        for name in ref.get("attrs", []):
            value = getattr(value, str(name))
        return value

    def arg(self, tag: str, body: object) -> object:
        if tag == "ref" and isinstance(body, dict):
            return self.resolve(body)
        raise ValueError(f"unknown tag {tag!r}")

    def handle(self, req: dict) -> object:
        op, it = req["op"], self.resolve(req["ref"])
        value = self.codec.decode(req.get("arg"), other=self.arg)
        if op == "call":
            return it(*value[0], **value[1])
        simple = {"get": lambda: it, "len": lambda: len(it), "iter": lambda: iter(it)}
        simple |= {"next": lambda: next(it), "bool": lambda: bool(it), "str": lambda: str(it)}
        simple |= {"repr": lambda: repr(it), "getitem": lambda: it[value]}
        simple |= {"contains": lambda: value in it}
        if op in simple:
            return simple[op]()
        return COMPARE[op](it, value)

    def serve(self) -> None:
        while True:
            try:
                (size,) = struct.unpack(">I", _recv(self.sock, 4))
                if size > LIMIT:
                    return
                req = self.codec.loads(_recv(self.sock, size))
            except (EOFError, OSError, ValueError):
                return
            try:
                reply = {"value": self.codec.encode(self.handle(req), self.register, base=True)}
            except BaseException as exc:  # noqa: BLE001 (what the project raised is its answer)
                try:
                    text = str(exc)[:500]
                except BaseException:  # noqa: BLE001 (its __str__ is the project's code)
                    text = ""
                reply = {"raise": [_builtin(exc), text]}
            data = self.codec.dumps(reply).encode()
            try:
                self.sock.sendall(struct.pack(">I", len(data)) + data)
            except OSError:
                return


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = True
    here = os.getcwd()
    sys.path.append(here)
    sys.path.extend(sorted(glob.glob(os.path.join(here, ".venv/lib/python*/site-packages")))[:1])
    sys.argv, sys.stdin = ["main.py"], open(os.devnull)  # noqa: SIM115 (its whole life)
    sock = socket.socket(fileno=int(argv[0]))
    sock.sendall(READY)  # the judge then lets go of this end: when this process ends, so does it
    Server(sock).serve()
    sys.stdout.flush()
    os._exit(0)  # whatever the project left running (threads, atexit) does not keep it here


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
