"""The text action format: constrained by a grammar, yet the code is written as code.

A small model writes far worse code inside a JSON string than in a fenced block, so local models
answer in this shape, and a GBNF grammar derived from the action declarations makes it always parse:

    Thought: one line of reasoning
    Action: write_file
    path: main.py
    content:
    ```python
    def main():
        print("hi")
    ```
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from . import Action, is_block, is_new_path

FENCE = "```"
THOUGHT_MAX = 200
_VALUE_RULES = {
    "int": "[1-9] [0-9]{0,4}",
    "newpath": '[a-z_] [a-z0-9_]{0,40} ".py"',
    "text": "[^\\n]{1,300}",
    "ident": "[a-z_] [a-z0-9_]{0,40}",
}
_CODE_RULE = 'code ::= ( [^`] | "`" [^`] | "``" [^`] )*'


class FormatError(ValueError):
    """A reply that does not follow the action format; the message goes back to the model."""


def _kind(action: type[Action], name: str) -> str:
    if is_block(action, name):
        return "block"
    annotation = action.model_fields[name].annotation
    if get_origin(annotation) is Literal:
        return "choice"
    if annotation is int or int in get_args(annotation):
        return "int"
    if is_new_path(action, name):
        return "newpath"
    return "text"


def code_prefix(action: type[Action], field: str) -> str:
    """GBNF for how a block must begin: a test file imports what it tests, then defines a test.

    A small model left free writes prose or a copy of main.py in a test file; this scaffold
    (`from main import f` then `def test_...(`) leaves it only the tests themselves to write.
    """
    module = ""
    if field == "test":
        module = "main" if action.name == "create_project" else ""
    else:
        path = action.model_fields.get("path")
        if field != "content" or path is None or get_origin(path.annotation) is not Literal:
            return ""
        choices = get_args(path.annotation)
        if len(choices) != 1 or not str(choices[0]).endswith("_test.py"):
            return ""
        module = str(choices[0]).removesuffix("_test.py").replace("/", ".")
    head = _gbnf_literal(f"from {module} import ") if module else '"from " v-ident " import "'
    return head + ' v-ident ( ", " v-ident ){0,5} "\\n\\n\\ndef test_" v-ident "("'


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _field_rule(action: type[Action], name: str) -> str:
    kind = _kind(action, name)
    if kind == "block":
        head = _gbnf_literal(f"{name}:\n{FENCE}python\n") + " " + code_prefix(action, name)
        return head + " code " + _gbnf_literal(f"\n{FENCE}\n")
    if kind == "choice":  # a Literal: one of a fixed set, e.g. the project's files
        options = " | ".join(
            _gbnf_literal(str(v)) for v in get_args(action.model_fields[name].annotation)
        )
        return _gbnf_literal(f"{name}: ") + f" ( {options} ) " + _gbnf_literal("\n")
    return _gbnf_literal(f"{name}: ") + f" v-{kind} " + _gbnf_literal("\n")


def grammar(actions: list[type[Action]], prefix: str = "") -> str:
    """GBNF grammar accepting exactly one action reply among `actions`; with `prefix` (a reply
    already begun inside one of an action's code blocks), the rest of that reply."""
    rules = [
        'root ::= "Thought: " thought "\\nAction: " ( '
        + " | ".join(f"act-{i}" for i in range(len(actions)))
        + " )"
    ]
    if prefix:
        rules[0] = "root ::= " + _continuation(actions, prefix)
    rules.append(f"thought ::= [^\\n]{{1,{THOUGHT_MAX}}}")
    for i, action in enumerate(actions):
        parts = [_gbnf_literal(action.name + "\n")] + [
            _field_rule(action, name) for name in action.model_fields
        ]
        rules.append(f"act-{i} ::= " + " ".join(parts))
    rules += [f"v-{k} ::= {v}" for k, v in _VALUE_RULES.items()]
    rules.append(_CODE_RULE)
    return "\n".join(rules) + "\n"


_OPEN_BLOCK = re.compile(r"^Action: (\w+)\n(?:.*\n)*?(\w+):\n```python\n", re.MULTILINE)


def _continuation(actions: list[type[Action]], prefix: str) -> str:
    """The rest of an action reply after `prefix`, which ends inside the code block of a field."""
    match = _OPEN_BLOCK.search(prefix)
    by_name = {a.name: a for a in actions}
    if not match or match[1] not in by_name or match[2] not in by_name[match[1]].model_fields:
        raise ValueError(
            f"a reply prefix must open a code block of an offered action: {prefix[:80]!r}"
        )
    action, names = by_name[match[1]], list(by_name[match[1]].model_fields)
    rest = [_field_rule(action, n) for n in names[names.index(match[2]) + 1 :]]
    indent = re.search(r"\n([ \t]+)$", prefix)
    # a body to write: the reply ends at the new line and the grammar asks for the indent and a
    # statement (the model's own tokens for "    return" are not the tokens of a cut "    "); a
    # first word starting with d is refused, as it is nearly always a nested copy of the function
    start = [_gbnf_literal(indent[1]), "[a-ce-zA-Z_]"] if indent else []
    return " ".join([*start, "code", _gbnf_literal(f"\n{FENCE}\n"), *rest])


_FENCE_OPEN = re.compile(r"^\s*```[\w+-]*\s*$")


def parse(text: str, actions: list[type[Action]]) -> tuple[str, str, dict[str, Any]]:
    """(thought, action name, validated arguments) from a reply, or FormatError saying what is
    wrong."""
    lines = text.strip("\n").splitlines()
    i = 0
    thought = ""
    if i < len(lines) and lines[i].lower().startswith("thought:"):
        thought = lines[i].split(":", 1)[1].strip()
        i += 1
    while i < len(lines) and not lines[i].lower().startswith("action:"):
        i += 1
    if i == len(lines):
        raise FormatError("no `Action:` line; answer with `Action: <name>` followed by its fields")
    name = lines[i].split(":", 1)[1].strip()
    by_name = {a.name: a for a in actions}
    if name not in by_name:
        raise FormatError(f"unknown action {name!r}; choose one of: {', '.join(by_name)}")
    action = by_name[name]
    i += 1
    args: dict[str, Any] = {}
    for field in action.model_fields:
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i == len(lines):
            raise FormatError(f"{name}: missing field `{field}`")
        if is_block(action, field):
            if lines[i].strip() == f"{field}:":
                i += 1
            if i == len(lines) or not _FENCE_OPEN.match(lines[i]):
                raise FormatError(f"{name}: `{field}` must be a ```python fenced block")
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == FENCE), None)
            if end is None:
                raise FormatError(f"{name}: the `{field}` block is not closed with ```")
            args[field] = "\n".join(lines[i + 1 : end]) + "\n"
            i = end + 1
        else:
            key, sep, value = lines[i].partition(":")
            if not sep or key.strip() != field:
                raise FormatError(f"{name}: expected `{field}: <value>`, got {lines[i][:80]!r}")
            args[field] = value.strip()
            i += 1
    return thought, name, validate_args(action, args)


def validate_args(action: type[Action], args: dict[str, Any]) -> dict[str, Any]:
    """Arguments checked against the declaration; FormatError lists every problem."""
    try:
        return action.model_validate(args).model_dump()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        raise FormatError(f"{action.name}: {problems}") from None
