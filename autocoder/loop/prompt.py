"""The messages that ask for a step, rendered from state: the system message, the worked
examples, and the step's ask (the goal, the project as observed, recent steps, the task)."""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from .. import scrub
from ..actions.plan import Plan
from ..providers.modes import MODES, Codec
from ..sandbox import cap
from ..state import Decision, Observation, ProcResult, Step

HISTORY_STEPS = 5
OUTPUT_CHARS = 1500  # of a failing run's output, in the prompt
FILE_CHARS = 6000  # of one file's content, in the prompt


def history_lines(steps: list[Step]) -> list[str]:
    """One line per recent step: what was done and what came of it."""
    lines = []
    for s in steps[-HISTORY_STEPS:]:
        d = s.decision
        what = d.action or "malformed reply"
        if d.args.get("path"):
            what += f" {d.args['path']}"
        lines.append(
            f"step {s.index}: {what} -> {'ok' if s.result.ok else 'ERROR: ' + s.result.message}"
        )
    return lines


@functools.lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("autocoder.loop", "prompts"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _trim(result: ProcResult | None) -> ProcResult | None:
    if result is None:
        return None
    return replace(result, output=cap(_clean(result.output), OUTPUT_CHARS))


def _clean(text: str) -> str:
    """Secrets and the user's home and name out of text for the model (observe.scrubbed has
    already made the project's paths relative; an install's note or a step's message may hold
    more)."""
    return scrub.Scrubber(places=scrub.home_places()).text(text)


@functools.lru_cache(maxsize=1)
def examples() -> list[dict[str, str]]:
    """Worked example turns (prompts/examples.txt): a small model copies their shape, so they
    are real."""
    text = _env().loader.get_source(_env(), "examples.txt")[0]
    turns = []
    for chunk in text.split("=== ")[1:]:
        role, _, content = chunk.partition("\n")
        turns.append({"role": role.strip(), "content": content.strip()})
    return turns


def messages(
    goal: str, obs: Observation, next_: Plan, steps: list[Step], codec: Codec = MODES["grammar"]
) -> list[dict[str, str]]:
    """System message and worked examples first (stable across steps and goals, so a local model
    reuses its KV cache for them), then the step's ask. The codec gives the system message's
    instruction and says whether the text-format examples are shown (tool calls and JSON replies
    are shaped by their schemas)."""
    env = _env()
    python = [
        replace(f, content=cap(f.content, FILE_CHARS), error=_clean(f.error)) for f in obs.python
    ]
    user = env.get_template("step.j2").render(
        goal=goal,
        files=obs.files,
        python=python,
        tests=_trim(obs.tests),
        main=_trim(obs.main),
        command=obs.command(),
        examples=_trim(obs.examples),
        history=[_clean(line) for line in history_lines(steps)],
        task=next_.task,
        actions=next_.actions,
    )
    system = env.get_template("system.j2").render(instruction=codec.instruction).strip()
    shown = examples() if codec.shows_examples else []
    return [
        {"role": "system", "content": system},
        *shown,
        {"role": "user", "content": user.strip()},
    ]


_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _lines(code: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in code.splitlines() if line.strip())


@functools.lru_cache(maxsize=1)
def worked_code() -> tuple[tuple[str, ...], ...]:
    """The code the worked examples' replies write, each as its non-blank lines."""
    replies = (t["content"] for t in examples() if t["role"] == "assistant")
    return tuple(_lines(b) for r in replies for b in _BLOCK.findall(r) if len(_lines(b)) >= 3)


def copies_worked_example(decision: Decision) -> bool:
    """Whether the decision writes code of the prompt's worked examples (a small model parrots
    them: `def squares(n)` became the project for another goal)."""
    for value in decision.args.values():
        if not isinstance(value, str):
            continue
        lines = _lines(value)
        for block in worked_code():
            if any(lines[i : i + len(block)] == block for i in range(len(lines) - len(block) + 1)):
                return True
    return False
