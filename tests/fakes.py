"""Fakes shared by the bench tests: a two-goal suite folder, a coder scripted for it in call
order, and workers for the process pool (module level, so that a spawned process finds them)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from autocoder.bench.options import Task
from autocoder.exceptions import AutocoderError
from autocoder.providers import ScriptedProvider
from autocoder.state import Decision

HIDDEN = "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def program(op: str) -> str:
    """main.py with `add(a, b)` as `a <op> b`; its main() lists the folder it runs in, so that an
    acceptance file there would show in what the agent observes."""
    return (
        "import os\n\n\n"
        f"def add(a, b):\n    return a {op} b\n\n\n"
        "def main():\n    print(sorted(os.listdir('.')))\n\n\n"
        'if __name__ == "__main__":\n    main()\n'
    )


RIGHT, WRONG = program("+"), program("-")


def solve(main: str) -> list[Decision]:
    """One goal and try of the agent: the fresh start's code block, then finish."""
    return [
        Decision(raw=f"```python\n{main}```"),
        Decision(action="finish", args={"reason": "done"}),
    ]


class Coder(ScriptedProvider):
    """Replies from its script in call order, never from what the prompt says; at every call it
    checks that no acceptance file is anywhere the agent can see."""

    name = "coder"

    def __init__(self, out: Path, replies: list[Decision]) -> None:
        super().__init__(replies)
        self.out = out

    def complete(self, messages, actions, settings):
        leaked = list((self.out / "projects").rglob("test_hidden*.py"))
        assert not leaked and "test_hidden" not in json.dumps(messages), leaked
        return super().complete(messages, actions, settings)


def suite_folder(tmp_path: Path) -> Path:
    """Two goals, `right` then `wrong` (by name), each judged by the hidden test of `add`."""
    root = tmp_path / "suite"
    for name, text in (
        ("right", "Write add(a, b) returning the sum."),
        ("wrong", "Write add(a, b), the wrong way."),
    ):
        (root / name).mkdir(parents=True)
        (root / name / "goal.toml").write_text(f'goal = "{text}"\nmax_steps = 4\n')
        (root / name / "test_hidden.py").write_text(HIDDEN)
    return root


class Echo:
    """A pool worker that records which process ran each task, and how many it ran before."""

    def __init__(self) -> None:
        self.ran = 0

    def run(self, task: Task) -> dict[str, Any]:
        self.ran += 1
        if task.goal.name == "die":
            os._exit(3)  # a crash that sends nothing back
        return {"goal": task.goal.name, "pid": os.getpid(), "ran": self.ran}


def no_model() -> Echo:
    """A worker that cannot start (its model is missing, say)."""
    raise AutocoderError("no model at /nowhere.gguf")
