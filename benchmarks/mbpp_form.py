"""HumanEval in MBPP's form, a tuning suite for goals that give no code: each problem whose
prompt states an example and gives no helper function becomes a goal of its docstring's prose
(up to its first example) and one `assert` of that example, judged by HumanEval's own check.
MBPP's test split (ids 11-510) is held back for measurement; this suite stands in for its form.
With --said, the README's form instead: "main.py defines f(a, b). <prose> f(1, 2) == 3, f(0, 0)
== 0" (the signature in words, two examples when the prompt states two).

    python benchmarks/mbpp_form.py OUT [--said]
    autocoder bench OUT --limit 40 --jobs 2 --no-cache

Writes one goal folder per problem (152 of the 164). No model runs.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

from autocoder.bench import humaneval
from autocoder.goal.examples import extract


def prose(prompt: str, entry: str) -> str:
    """The entry function's docstring up to its first example, on one line."""
    tree = ast.parse(prompt)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry)
    words = []
    stop = re.compile(rf">>>|[Ee]xample|\b{re.escape(entry)}\(|➞|==|=>|->|[Ff]or [a-z_]+ ?=")
    for line in (ast.get_docstring(fn) or "").splitlines():
        if stop.search(line):
            break
        words.append(line.strip())
    return " ".join(w for w in words if w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--said", action="store_true", help="the README's form")
    options = parser.parse_args()
    out = options.out
    written = 0
    for p, goal in zip(humaneval.problems(), humaneval.goals(), strict=True):
        entry = p["entry_point"]
        if "def " in humaneval.given(p["prompt"], entry):
            continue  # a helper the goal would have to give as code
        said = [e for e in extract(goal.goal) if e.call.startswith(f"{entry}(")]
        text = prose(p["prompt"], entry)
        if not said or not text:
            continue
        stated = f"{text}\nassert {said[0].call} == {said[0].want}"
        if options.said:
            fn = next(n for n in ast.parse(p["prompt"]).body if getattr(n, "name", "") == entry)
            params = ", ".join(a.arg for a in fn.args.args)  # type: ignore[attr-defined]
            shown = ", ".join(f"{e.call} == {e.want}" for e in said[:2])
            stated = f"main.py defines {entry}({params}). {text} {shown}"
        if "'''" in stated:
            continue
        folder = out / goal.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "goal.toml").write_text(f"goal = '''{stated}'''\n", encoding="utf-8")
        for name, data in goal.files.items():
            (folder / name).write_bytes(data)
        written += 1
    print(f"{written} goals in {out}")


if __name__ == "__main__":
    main()
