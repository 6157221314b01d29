"""What a step may do: the phase the project is in, what to ask, and the actions offered."""

from __future__ import annotations

from dataclasses import dataclass

from ..state import Decision, Phase
from . import Action
from .textformat import FormatError, validate_args


@dataclass(frozen=True)
class Plan:
    """The phase the project is in, what to ask, and the actions offered for it."""

    phase: Phase
    task: str
    actions: list[type[Action]]

    def action(self, name: str) -> type[Action] | None:
        return next((a for a in self.actions if a.name == name), None)

    def refusal(self, decision: Decision) -> str:
        """Why a well-formed reply cannot be applied now ("" when it can)."""
        action = self.action(decision.action)
        if action is None:
            names = ", ".join(a.name for a in self.actions)
            return f"action {decision.action!r} is not available now; choose one of: {names}"
        try:
            validate_args(action, decision.args)
        except FormatError as exc:
            return str(exc)
        return ""
