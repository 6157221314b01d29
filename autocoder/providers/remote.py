"""Any model litellm reaches (OpenAI, Anthropic, Ollama, any OpenAI-compatible server).

One call: trim the prompt to the context -> the codec's request -> litellm.completion with
retries -> the codec's Decision (see modes.py; the mode is chosen once, by choose.py). The API
key is held here only: never logged, cached or passed on.
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace
from typing import Any

from ..actions import Action
from ..exceptions import AutocoderError, Late, ModelFailed
from ..scrub import Scrubber
from ..state import Decision, Store, Usage
from .base import Message, Settings, trim
from .choose import Rejected, choose, known_tool_choice, probe, probe_key
from .faults import explain, litellm, rejected, transient, with_retries
from .keys import LOCAL_KEY, find_key, key_names, missing_keys
from .modes import Codec, late, text_of, usage_of
from .profiles import Profile

TIMEOUT_S = 600.0  # one call; a local CPU server can be slow


class LiteLLMProvider:
    """One litellm model; its codec (tool mode) is chosen once, when the provider is made."""

    def __init__(
        self,
        profile: Profile,
        api_key: str | None = None,
        tool_mode: str | None = None,
        store: Store | None = None,
    ) -> None:
        self.profile = profile
        self.name = profile.name
        self.missing = missing_keys(profile)  # asked once: validate_environment is not free
        self.key_names = key_names(profile, self.missing)
        self._api_key = api_key or find_key(profile, self.key_names, self.missing)
        self.store = store  # where probe results are remembered (the response cache's folder)
        self.codec: Codec = self._choose(tool_mode)
        self.context = profile.context or self._known_context()
        self.identity = {
            "kind": "litellm",
            "model": profile.model,
            "api_base": profile.api_base,
            "tool_mode": self.codec.name,
            "instructor_mode": profile.instructor_mode,
            "json_schema": profile.json_schema,
        }

    @property
    def tool_mode(self) -> str:
        return self.codec.name

    @property
    def secrets(self) -> tuple[str, ...]:
        """What a recorder of this provider's traffic must scrub (see cassettes.Scrubber)."""
        return (self._api_key,) if self._api_key and self._api_key != LOCAL_KEY else ()

    def _model_info(self) -> dict[str, Any]:
        return litellm().get_model_info(self.profile.model)

    def _known_context(self) -> int | None:
        """The input window in litellm's data; None when unknown (the server then says)."""
        if self.profile.api_base:
            return None
        try:
            return int(self._model_info().get("max_input_tokens") or 0) or None
        except Exception:  # noqa: BLE001  (litellm raises anything for a model it does not know)
            return None

    def _choose(self, requested: str | None) -> Codec:
        """The codec; when only the endpoint can tell, one probe, remembered per model and
        endpoint. A server that cannot be reached is a start-up error."""
        probed: list[str | None] = []

        def probe_once() -> str | None:
            probed.append(self.probe())
            return probed[0]

        known = known_tool_choice(self.profile, self.store, self._model_info)
        try:
            codec = choose(self.profile, requested, known, probe=probe_once)
        except ModelFailed as exc:
            raise AutocoderError(str(exc)) from None
        if probed and self.store is not None:
            self.store.set(probe_key(self.profile), probed[0] or "")
        if codec is None:  # only without a probe; one was given
            raise AutocoderError(f"no tool mode could be chosen for {self.profile.model}")
        return codec

    def probe(self) -> str | None:
        """What the endpoint's tool calls can do: "any", "named" or None (see choose.probe)."""
        return probe(self._probe_send)

    def _probe_send(self, **kwargs: Any) -> Any:
        """A probe request: an error status is the endpoint's answer (Rejected), never retried."""
        lib = litellm()
        kwargs.update(self._endpoint())
        try:
            return with_retries(
                lambda: lib.completion(**kwargs), retry=lambda e: transient(e) and not rejected(e)
            )
        except Exception as exc:
            if type(exc).__module__.startswith(("litellm", "openai", "httpx")):
                if rejected(exc):
                    raise Rejected(str(exc)) from None
                raise self._failed(exc) from None
            raise

    def scrub(self, text: str) -> str:
        """`text` (the endpoint's error) without the key, in any spelling, or a key's shape."""
        return Scrubber((self._api_key,)).text(text)

    # ---- calls ---------------------------------------------------------------------------------
    def _endpoint(self) -> dict[str, Any]:
        return {
            "model": self.profile.model,
            "api_base": self.profile.api_base,
            "api_key": self._api_key,
            "timeout": TIMEOUT_S,
            "num_retries": 0,
        }

    def _failed(self, exc: BaseException) -> ModelFailed:
        return ModelFailed(self.scrub(str(explain(exc, self.profile, self.key_names))))

    def _completion(self, *, until: float = 0.0, **kwargs: Any) -> Any:
        """litellm.completion with the endpoint, key and retries; faults become ModelFailed.
        Given `until` (Settings.until), each try waits no longer than the time left, and a fault
        there (a timeout, most likely) raises Late: the run ends within its limit."""
        lib = litellm()
        kwargs.update(self._endpoint())

        def attempt() -> Any:
            left = until - time.monotonic() if until else TIMEOUT_S
            return lib.completion(**{**kwargs, "timeout": max(min(TIMEOUT_S, left), 0.01)})

        try:
            return with_retries(attempt, until=until)
        except Exception as exc:
            if until and time.monotonic() >= until:
                raise Late from None
            if type(exc).__module__.startswith(("litellm", "openai", "httpx")):
                raise self._failed(exc) from None
            raise

    def _priced(self, usage: Usage) -> Usage:
        """The call's price: the profile's per-million prices, else litellm's list, else 0."""
        p = self.profile
        if p.input_cost_per_mtok is not None or p.output_cost_per_mtok is not None:
            cost = (
                usage.prompt_tokens * (p.input_cost_per_mtok or 0)
                + usage.completion_tokens * (p.output_cost_per_mtok or 0)
            ) / 1e6
        else:
            try:
                cost = sum(
                    litellm().cost_per_token(
                        model=p.model,
                        prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens,
                    )
                )
            except Exception:  # noqa: BLE001  (an unknown or local model has no price: never a crash)
                cost = 0.0
        return replace(usage, cost_usd=float(cost or 0.0))

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        start = time.monotonic()
        if self.context:
            count = functools.partial(litellm().token_counter, model=self.profile.model)
            messages = trim(
                messages, lambda m: count(messages=m), self.context - settings.max_tokens
            )
        sampling = {
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "seed": settings.seed,
            **({"stop": list(settings.stop)} if settings.stop else {}),
        }
        send = functools.partial(self._completion, until=settings.until)
        try:
            if actions:
                decision = self.codec.call(send, messages, actions, sampling)
            else:  # a plain chat turn
                response = send(messages=messages, **sampling)
                decision = Decision(raw=text_of(response), usage=usage_of(response))
        except Late:  # as a local reply stopped there (llama_cpp.py): cut, and never cached
            stopped = late("", Usage(), 0.0)
            decision = stopped if actions else replace(stopped, error="")
        usage = self._priced(decision.usage)
        return replace(decision, usage=usage, seconds=time.monotonic() - start)
