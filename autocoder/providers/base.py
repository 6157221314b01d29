"""The seam between the loop and any model: one Protocol, one settings model."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from ..actions import Action
from ..exceptions import ModelFailed
from ..state import Decision

if TYPE_CHECKING:
    from .modes import Codec

Message = dict[str, str]


class Settings(BaseModel):
    """Sampling settings of one model call."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int = 0
    prefix: str = ""  # the reply starts with this text (grammar mode: the model continues it)
    stop: tuple[str, ...] = ()  # the reply ends before the first of these (not included)
    # (name, *have): the reply completes function `name`, the program having `have` besides; a
    # local model stops writing where goal.ending.over says the reply is over (the caller cuts
    # any provider's reply there); (): no such function
    function: tuple[str, ...] = ()
    # time.monotonic() at which a local model stops writing a reply, alone or in a round decoded
    # together, each then `late` (the run's time limit, so that no reply overruns it; a remote
    # provider's call is not stopped); 0: none. A when, not a what: no part of a request's key
    until: float = 0.0

    def key(self) -> dict[str, Any]:
        """What identifies these settings in a cache key or a cassette: the fields, less an empty
        `stop` or `function` (so requests made before they existed keep their keys) and
        `until`."""
        data = self.model_dump(exclude={"until"})
        for field in ("stop", "function"):
            if not data[field]:
                del data[field]
        return data


class Provider(Protocol):
    """Anything that turns messages plus allowed actions into one Decision."""

    name: str
    codec: Codec  # how actions reach the model (modes.py); the prompt and the agent ask it
    tool_mode: str  # the codec's name, for records
    secrets: tuple[str, ...]  # what a recorder of its traffic must scrub (an API key it holds)
    # what makes its replies what they are (model, weights' sha256...), no secrets
    identity: dict[str, Any]

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        """One model call; a malformed reply is a Decision with `error` set, never an exception.
        With no actions offered it is a plain chat turn: the reply's text in `raw`, no action
        (the bench's --plain baseline)."""
        ...


class Wrapper:
    """Worn over another provider (the response cache, a cassette, the bench's call cap): what it
    does not change it takes from the one inside, optional abilities included, so wearing it
    never changes how a run samples (a wrapper that forgot `parallel` made a recorded bench ask
    one candidate at a time). A wrapper overrides `complete` and `complete_many`."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner

    name = property(lambda self: self.inner.name)
    codec = property(lambda self: self.inner.codec)
    tool_mode = property(lambda self: self.inner.tool_mode)
    secrets = property(lambda self: self.inner.secrets)
    identity = property(lambda self: self.inner.identity)

    @property
    def parallel(self) -> bool:
        """Whether the provider inside decodes many replies together (complete_many)."""
        return bool(getattr(self.inner, "parallel", False))

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        return self.inner.complete(messages, actions, settings)

    def complete_many(
        self, asks: list[tuple[list[Message], Settings]], actions: list[type[Action]]
    ) -> list[Decision]:
        """Together through the provider inside where it can, else through this wrapper's own
        `complete`, one after another."""
        if self.parallel:
            return complete_many(self.inner, asks, actions)
        return [self.complete(messages, actions, s) for messages, s in asks]


def complete_many(
    provider: Provider,
    asks: list[tuple[list[Message], Settings]],
    actions: list[type[Action]],
) -> list[Decision]:
    """One Decision per (messages, settings): together where the provider can (a local model
    decodes warm samples in parallel, each distinct prompt evaluated once), else one call after
    another."""
    many = getattr(provider, "complete_many", None)
    if many is not None:
        return many(asks, actions)
    return [provider.complete(messages, actions, s) for messages, s in asks]


def trim(
    messages: list[Message], count: Callable[[list[Message]], int], limit: int
) -> list[Message]:
    """Drop the oldest turns after the system message until `count(messages) <= limit`: a
    deliberate cut, never the backend's silent truncation. The last message (the step's ask) stays;
    if it alone overflows, the call cannot be made and ModelFailed says so."""
    kept = list(messages)
    while count(kept) > limit:
        if len(kept) <= 2:
            raise ModelFailed(
                f"the prompt ({count(kept)} tokens) does not fit the model's context "
                f"({limit} for the prompt)"
            )
        del kept[1]
    return kept
