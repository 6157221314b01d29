"""How a front end follows a run (the CLI's ConsoleHooks, progress.py): each step's ask, its
prompt and reply, the step done, the end."""

from __future__ import annotations

from typing import Protocol

from ..state import Decision, RunResult, Step


class Hooks(Protocol):
    """How a front end follows a run: progress after each step, and step mode's pause."""

    def on_decide(self, index: int, phase: str) -> None: ...
    def on_step(self, step: Step) -> None: ...
    def on_prompt(self, step: int, msgs: list[dict[str, str]], decision: Decision) -> None: ...
    def on_end(self, result: RunResult) -> None: ...


class Silent:
    """A run nobody follows (the library's default)."""

    def on_decide(self, index: int, phase: str) -> None:
        pass

    def on_step(self, step: Step) -> None:
        pass

    def on_prompt(self, step: int, msgs: list[dict[str, str]], decision: Decision) -> None:
        pass

    def on_end(self, result: RunResult) -> None:
        pass
