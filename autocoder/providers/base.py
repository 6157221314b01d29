"""The seam between the loop and any model: one Protocol, one settings model."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from ..actions import Action
from ..state import Decision

Message = dict[str, str]


class Settings(BaseModel):
    """Sampling settings of one model call."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int = 0


class Provider(Protocol):
    """Anything that turns messages plus allowed actions into one Decision."""

    name: str

    def complete(self, messages: list[Message], actions: list[type[Action]], settings: Settings) -> Decision:
        """One model call; a malformed reply is a Decision with `error` set, never an exception."""
        ...
