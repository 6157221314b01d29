"""The actions a model can take, each declared once: a pydantic model of its arguments plus `apply`.

The same declaration yields the native tool schema (`tool_schema`), the text format and grammar
for local models (`textformat`), and argument validation. The registry is a plain list.
"""

from __future__ import annotations

import functools
import operator
import re
from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from ..project.lint import add_main_guard
from ..project.workspace import PROTECTED, Workspace
from ..state import ActionResult

BLOCK = "code-block"  # marks a field the model writes as a fenced code block, not inside a string
NEW = "new-path"  # marks a path that names a file still to be created
Code = Annotated[str, BLOCK, Field(description="complete Python code")]
Path = Annotated[str, Field(description="path of an existing file of the project, e.g. main.py")]
NEW_MODULE = re.compile(r"[a-z_][a-z0-9_]*\.py")


def _new_module(name: str) -> str:
    """Checked here, not as a schema `pattern`: llama-cpp-python's server turns a pattern into a
    grammar it cannot parse (`unknown escape at \\.py`) and then crashes."""
    if not NEW_MODULE.fullmatch(name):
        raise ValueError(f"{name!r} is not a new module name: lower case, like utils.py")
    return name


NewPath = Annotated[
    str, NEW, AfterValidator(_new_module), Field(description="new module name, e.g. utils.py")
]
Line = Annotated[int, Field(ge=1, description="1-based line number")]


class Action(BaseModel):
    """Base of every action: arguments are validated, extra ones refused."""

    model_config = ConfigDict(extra="forbid")
    name: ClassVar[str]

    def apply(self, ws: Workspace) -> ActionResult:  # pragma: no cover - every action overrides
        raise NotImplementedError


def is_block(action: type[Action], field: str) -> bool:
    return BLOCK in action.model_fields[field].metadata


def is_new_path(action: type[Action], field: str) -> bool:
    return NEW in action.model_fields[field].metadata


def test_path_for(path: str) -> str:
    """The test file that goes with `path` (main.py -> main_test.py)."""
    p = PurePosixPath(path)
    return str(p.with_name(f"{p.stem}_test.py"))


def _lines(ws: Workspace, path: str) -> list[str]:
    return ws.read(path).splitlines(keepends=True)


def _as_lines(code: str) -> list[str]:
    return (code if code.endswith("\n") else code + "\n").splitlines(keepends=True)


def _check_range(lines: list[str], start: int, end: int) -> None:
    if end < start or end > len(lines):
        raise ValueError(f"line range {start}-{end} is outside the file's {len(lines)} lines")


class CreateProject(Action):
    """Create the project: main.py (with a main() function) and its tests in main_test.py."""

    name = "create_project"
    main: Code
    test: Code

    def apply(self, ws: Workspace) -> ActionResult:
        ws.write("main.py", add_main_guard(self.main))
        ws.write("main_test.py", self.test)
        return ActionResult(True, "wrote main.py and main_test.py", ("main.py", "main_test.py"))


class WriteFile(Action):
    """Write the complete new content of a file, replacing what it had."""

    name = "write_file"
    path: Path
    content: Code

    def apply(self, ws: Workspace) -> ActionResult:
        ws.write(
            self.path, add_main_guard(self.content) if self.path == "main.py" else self.content
        )
        return ActionResult(True, f"wrote {self.path}", (self.path,))


class SearchReplace(Action):
    """Replace one exact occurrence of `search` in a file with `replace`."""

    name = "search_replace"
    path: Path
    search: Code
    replace: Code

    def apply(self, ws: Workspace) -> ActionResult:
        text = ws.read(self.path)
        search = self.search.strip("\n")
        count = text.count(search) if search else 0
        if count != 1:
            where = "not found" if count == 0 else f"found {count} times"
            raise ValueError(f"search text {where} in {self.path}; copy it exactly, once")
        ws.write(self.path, text.replace(search, self.replace.strip("\n"), 1))
        return ActionResult(True, f"replaced text in {self.path}", (self.path,))


class ReplaceLines(Action):
    """Replace lines start..end (inclusive) of a file with new code."""

    name = "replace_lines"
    path: Path
    start: Line
    end: Line
    content: Code

    def apply(self, ws: Workspace) -> ActionResult:
        lines = _lines(ws, self.path)
        _check_range(lines, self.start, self.end)
        lines[self.start - 1 : self.end] = _as_lines(self.content)
        ws.write(self.path, "".join(lines))
        return ActionResult(
            True, f"replaced lines {self.start}-{self.end} of {self.path}", (self.path,)
        )


class InsertLines(Action):
    """Insert code before line `line` of a file (one past the last line appends)."""

    name = "insert_lines"
    path: Path
    line: Line
    content: Code

    def apply(self, ws: Workspace) -> ActionResult:
        lines = _lines(ws, self.path)
        if self.line > len(lines) + 1:
            raise ValueError(
                f"line {self.line} is past the end of {self.path} ({len(lines)} lines)"
            )
        lines[self.line - 1 : self.line - 1] = _as_lines(self.content)
        ws.write(self.path, "".join(lines))
        return ActionResult(True, f"inserted code at line {self.line} of {self.path}", (self.path,))


class RemoveLines(Action):
    """Remove lines start..end (inclusive) of a file."""

    name = "remove_lines"
    path: Path
    start: Line
    end: Line

    def apply(self, ws: Workspace) -> ActionResult:
        lines = _lines(ws, self.path)
        _check_range(lines, self.start, self.end)
        del lines[self.start - 1 : self.end]
        ws.write(self.path, "".join(lines))
        return ActionResult(
            True, f"removed lines {self.start}-{self.end} of {self.path}", (self.path,)
        )


class CreateFile(Action):
    """Create a new Python module and its test file (name_test.py)."""

    name = "create_file"
    path: NewPath
    content: Code
    test: Code

    def apply(self, ws: Workspace) -> ActionResult:
        test_path = test_path_for(self.path)
        for p in (self.path, test_path):
            if ws.exists(p):
                raise ValueError(f"{p} already exists; use write_file to change it")
        ws.write(self.path, self.content)
        ws.write(test_path, self.test)
        return ActionResult(True, f"created {self.path} and {test_path}", (self.path, test_path))


class DeleteFile(Action):
    """Delete a file that the project no longer needs (never main.py or main_test.py)."""

    name = "delete_file"
    path: Path

    def apply(self, ws: Workspace) -> ActionResult:
        if self.path in PROTECTED:
            raise ValueError(f"{self.path} cannot be deleted")
        ws.delete(self.path)
        return ActionResult(True, f"deleted {self.path}", (self.path,))


class Finish(Action):
    """Declare the goal met: the code is complete, runs and is tested."""

    name = "finish"
    reason: Annotated[str, Field(description="why the goal is met")]

    def apply(self, ws: Workspace) -> ActionResult:
        return ActionResult(True, "finished")


ACTIONS: list[type[Action]] = [
    CreateProject,
    WriteFile,
    SearchReplace,
    ReplaceLines,
    InsertLines,
    RemoveLines,
    CreateFile,
    DeleteFile,
    Finish,
]


@functools.lru_cache(maxsize=256)
def narrow(action: type[Action], files: tuple[str, ...]) -> type[Action]:
    """`action` with its existing-file `path` limited to `files`: a model cannot name another."""
    field = action.model_fields.get("path")
    if field is None or is_new_path(action, "path") or not files:
        return action
    choice = Literal[files]  # type: ignore[valid-type]
    return create_model(
        action.__name__,
        __base__=action,
        __doc__=action.__doc__,
        path=(choice, Field(description=field.description)),
    )


def tool_schema(action: type[Action]) -> dict[str, Any]:
    """OpenAI-style function schema for native tool calling."""
    return {
        "type": "function",
        "function": {
            "name": action.name,
            "description": (action.__doc__ or "").strip(),
            "parameters": action.model_json_schema(),
        },
    }


@functools.lru_cache(maxsize=256)
def _named(action: type[Action]) -> type[BaseModel]:
    """`action`'s arguments plus the discriminating `action` field naming it."""
    fields: dict[str, Any] = {"action": (Literal[action.name], ...)}  # type: ignore[valid-type]
    fields.update({k: (f.annotation, f) for k, f in action.model_fields.items()})
    return create_model(f"{action.__name__}Call", __doc__=action.__doc__, **fields)


@functools.lru_cache(maxsize=256)
def _reply_model(actions: tuple[type[Action], ...]) -> type[BaseModel]:
    variants = [_named(a) for a in actions]
    union = functools.reduce(operator.or_, variants)  # A | B | ..., built from the offered actions
    call = variants[0] if len(variants) == 1 else Annotated[union, Field(discriminator="action")]
    return create_model(
        "Reply",
        __doc__="Your reasoning, then exactly one action with its arguments.",
        thought=(str, Field(description="one short sentence: what you do and why")),
        call=(call, ...),
    )


def reply_model(actions: list[type[Action]]) -> type[BaseModel]:
    """One pydantic model for a whole reply (thought + one of `actions`): the Instructor response
    model, and the single `act` tool for endpoints that only honour a named tool choice."""
    return _reply_model(tuple(actions))


def from_reply(reply: BaseModel) -> tuple[str, str, dict[str, Any]]:
    """(thought, action name, arguments) of a validated `reply_model` instance."""
    args = reply.call.model_dump()  # type: ignore[attr-defined]
    return reply.thought, args.pop("action"), args  # type: ignore[attr-defined]
