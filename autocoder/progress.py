"""Terminal front end of a run: one line per step on stderr, a spinner while the model thinks."""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape

from .state import Decision, RunResult, Step

# C0 and C1 control characters but newline and tab (escape sequences, bell, carriage return...)
# and the bidirectional overrides that make text read other than it is
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """Text from a model, a program or a file, safe to print on a terminal: every control
    character becomes U+FFFD, so nothing in it can move the cursor, retitle or reprogram the
    terminal."""
    return _CONTROL.sub("\ufffd", str(text))


def safe(text: object) -> str:
    """`printable`, and escaped for rich markup."""
    return escape(printable(text))


class ConsoleHooks:
    """Progress for people; prompts and raw replies too at debug level."""

    def __init__(self, debug: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.debug = debug
        self._status = None

    def on_decide(self, index: int, phase: str) -> None:
        self._status = self.console.status(f"step {index} · {phase} · the model is thinking…")
        self._status.start()

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def on_end(self, result: RunResult) -> None:
        self._stop_spinner()  # also after Ctrl-C in the middle of a model call

    def on_prompt(self, index: int, msgs: list[dict[str, str]], decision: Decision) -> None:
        self._stop_spinner()
        if self.debug:
            for m in msgs:
                self.console.rule(f"step {index} · {m['role']}")
                self.console.print(safe(m["content"]), highlight=False)
            self.console.rule(f"step {index} · reply")
            self.console.print(safe(decision.raw), highlight=False)

    def on_step(self, step: Step) -> None:
        d = step.decision
        what = d.action or "malformed reply"
        if d.args.get("path"):
            what += f" {d.args['path']}"
        first = (step.result.message.splitlines() or [""])[0][:120]
        mark = "[green]ok[/]" if step.result.ok else f"[red]{safe(first)}[/]"
        tokens = d.usage.prompt_tokens + d.usage.completion_tokens
        self.console.print(
            f"step {step.index:>2} [dim]{step.phase:<9}[/] {safe(what)} -> {mark} "
            f"[dim]({step.seconds:.1f} s, {tokens} tokens)[/]",
            highlight=False,
        )


def ask_to_continue(index: int) -> bool:
    """Step mode: wait for Enter before each step; q quits."""
    try:
        answer = input(f"step {index}: Enter to run it, q to quit: ")
    except EOFError:
        return False
    return answer.strip().lower() not in {"q", "quit", "n", "no"}
