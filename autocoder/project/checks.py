"""The goal's examples run as a check of the project: each call answered in the sandbox, as plain
data, and compared here, where no code of the project ever ran."""

from __future__ import annotations

import json
from pathlib import Path

from .. import sandbox
from ..goal import Example, command
from ..state import ProcResult

TIMEOUT = 10.0


def check(
    root: Path, examples: tuple[Example, ...], *, policy: sandbox.Sandbox
) -> ProcResult | None:
    """Run the examples against the project's main.py; None when there are none or no main.py.
    The sandboxed check only answers each call, as plain data (_tool.run_examples); whether that
    is the expected answer is decided here, where no code of the project ever ran."""
    from ..sandbox import plain

    if not examples or not (Path(root) / "main.py").is_file():
        return None
    payload = json.dumps([e.call for e in examples])
    ran = sandbox.tool(["examples"], Path(root), TIMEOUT, stdin=payload, policy=policy)
    sent = (ran.report or {}).get("answers")
    answers = [plain.answer(a) for a in sent[: len(examples)]] if isinstance(sent, list) else []
    results = [plain.matches(got, e.want) for got, e in zip(answers, examples, strict=False)]
    lines = []
    for got, e, ok in zip(answers, examples, results, strict=False):
        said = "printed" if command(e) else "returned"
        if ok:
            lines.append(f"ok   {plain.call_text(e.call)} == {e.want}")
        elif isinstance(got, plain.Raised):
            lines.append(
                f"FAIL {plain.call_text(e.call)} raised {got.name}: {got.message}; "
                f"expected {e.want}"
            )
        else:
            lines.append(f"FAIL {plain.call_text(e.call)} {said} {got!r}; expected {e.want}")
    results += [False] * (len(examples) - len(results))  # unanswered: the check stopped first
    report = {**(ran.report or {}), "results": results, "got": [plain.shown(a) for a in answers]}
    output = "\n".join(filter(None, [ran.output.rstrip("\n"), *lines]))
    code = 0 if all(results) and ran.ok else (ran.returncode or 1)
    return ProcResult(code, sandbox.cap(output), ran.seconds, ran.timed_out, report)
