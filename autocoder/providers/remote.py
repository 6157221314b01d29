"""Any model litellm reaches (OpenAI, Anthropic, Ollama, any OpenAI-compatible server).

Actions reach the model one of two ways, chosen by capability (see `capabilities`):
- native: one tool per offered action and tool_choice="required"; an endpoint that honours only
  a named tool choice (llama-cpp-python's server with a plain chat template) gets one `act` tool
  whose argument is the union of the actions (`reply_model`), forced by name;
- instructor: Instructor structured output of the same union (JSON, MD_JSON or JSON_SCHEMA mode).
Transient faults retry with exponential backoff and jitter, honouring Retry-After; the rest end
the run with one clear line. The API key is held here only: never logged, cached or passed on.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from ..actions import Action, from_reply, reply_model, tool_schema
from ..exceptions import AutocoderError, ModelFailed
from ..state import Decision, Usage
from ..textformat import FormatError, validate_args
from .base import Message, Settings, trim
from .profiles import Profile
from .scripted import decision_from_text

MAX_ATTEMPTS = 4
MAX_WAIT_S = 30.0
TIMEOUT_S = 600.0  # one call; a local CPU server can be slow
PROBE = "probe:v1:"
UNKNOWN = "unknown"  # what `known_tool_choice` says when only a probe of the endpoint can tell


@functools.lru_cache(maxsize=1)
def litellm() -> Any:
    """litellm, imported on first use only (seconds to import), with its price list read locally."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # else it fetches the price list at import
    import litellm as lib

    lib.suppress_debug_info = True
    lib.drop_params = True  # a provider that lacks `seed` or `tool_choice` ignores it
    lib.telemetry = False
    return lib


def is_local(api_base: str | None) -> bool:
    host = urlparse(api_base or "").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


# ---- faults ------------------------------------------------------------------------------------
def transient(exc: BaseException) -> bool:
    lib = litellm()
    kinds = (
        lib.RateLimitError,
        lib.APIConnectionError,
        lib.Timeout,
        lib.InternalServerError,
        lib.ServiceUnavailableError,
        lib.BadGatewayError,
    )
    return isinstance(exc, kinds) and not isinstance(exc, lib.ContextWindowExceededError)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After header), if it said."""
    response = getattr(exc, "response", None)
    headers = (
        getattr(response, "headers", None) or getattr(exc, "litellm_response_headers", None) or {}
    )
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return max(float(value), 0.0) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def with_retries(call: Callable[[], Any], sleep: Callable[[float], None] = time.sleep) -> Any:
    """`call()`, retried on transient faults: exponential backoff with jitter, or Retry-After."""
    from tenacity import (
        RetryCallState,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        wait_exponential_jitter,
    )

    backoff = wait_exponential_jitter(initial=1, max=MAX_WAIT_S)

    def wait(state: RetryCallState) -> float:
        after = retry_after(state.outcome.exception()) if state.outcome else None
        return min(after, MAX_WAIT_S) if after is not None else backoff(state)

    retrying = Retrying(
        retry=retry_if_exception(transient),
        wait=wait,
        stop=stop_after_attempt(MAX_ATTEMPTS),
        sleep=sleep,
        reraise=True,
    )
    return retrying(call)


def explain(exc: BaseException, profile: Profile, key_names: list[str]) -> ModelFailed:
    """One clear line for a failed call; the key's value never appears (see `scrub`)."""
    lib = litellm()
    model = profile.model
    keys = " or ".join(key_names) or "the provider's API key variable"
    if isinstance(exc, lib.AuthenticationError):
        return ModelFailed(f"the API key for {model} was rejected: set {keys} or pass --api-key")
    if isinstance(exc, lib.NotFoundError):
        return ModelFailed(
            f"{model} was not found by its provider: check the model name (autocoder models lists profiles)"
        )
    if isinstance(exc, lib.ContextWindowExceededError):
        return ModelFailed(
            f"the prompt exceeds {model}'s context window: set `context` in its profile"
        )
    if isinstance(exc, lib.APIConnectionError) or _connection_failed(exc):
        where = profile.api_base or "the provider"
        return ModelFailed(
            f"cannot reach {where} for {model}: is the server running? ({type(exc).__name__})"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelFailed(f"{model}: {first[:300]}")


def _connection_failed(exc: BaseException | None) -> bool:
    """litellm reports a refused connection as an InternalServerError: look at what it wraps."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ConnectionError) or type(exc).__name__ in (
            "ConnectError",
            "APIConnectionError",
        ):
            return True
        if "Connection error" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


# ---- capabilities --------------------------------------------------------------------------------
_PROBE_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add_numbers",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "say",
            "description": "Say a text.",
            "parameters": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
        },
    },
]


def _tool_call_ok(response: Any) -> bool:
    calls = response.choices[0].message.tool_calls or []
    if not calls or calls[0].function.name not in ("add_numbers", "say"):
        return False
    try:
        return isinstance(json.loads(calls[0].function.arguments or ""), dict)
    except json.JSONDecodeError:
        return False


def probe_key(profile: Profile) -> str:
    return f"{PROBE}{profile.model}|{profile.api_base or ''}"


def known_tool_choice(profile: Profile, store: Any | None) -> str | None:
    """Without calling the model: "any" (the model picks among tools), "named" (only a forced tool
    works), None (no native tool calls) or UNKNOWN. The profile's word first, then litellm's
    capability data (for a model it knows, on its own endpoint), then a probe remembered earlier."""
    if profile.tool_choice:
        return profile.tool_choice
    if not profile.api_base:
        try:
            known = litellm().get_model_info(profile.model).get("supports_function_calling")
        except Exception:  # litellm does not know the model
            known = None
        if known is not None:
            return "any" if known else None
    if store is not None and (seen := store.get(probe_key(profile))) is not None:
        return seen or None
    return UNKNOWN


def missing_keys(profile: Profile) -> list[str]:
    """The key variables litellm looks for and finds unset (none for a local server)."""
    if profile.api_key_env:
        return [] if os.environ.get(profile.api_key_env) else [profile.api_key_env]
    if is_local(profile.api_base):
        return []
    report = litellm().validate_environment(model=profile.model, api_base=profile.api_base)
    return [k for k in report.get("missing_keys", []) if k.endswith(("_KEY", "_TOKEN"))]


class LiteLLMProvider:
    """One litellm model; `tool_mode` is decided once, when the provider is made."""

    def __init__(
        self,
        profile: Profile,
        api_key: str | None = None,
        tool_mode: str | None = None,
        store: Any | None = None,
    ) -> None:
        self.profile = profile
        self.name = profile.name
        self.missing = missing_keys(
            profile
        )  # asked once: litellm's validate_environment is not free
        self.key_names = self._key_names()
        self._api_key = api_key or self._find_key()
        from ..cassettes import add_secret

        add_secret(self._api_key)  # whatever records traffic (cassettes) scrubs it
        self.store = store  # where probe results are remembered (the response cache's folder)
        requested = tool_mode or profile.tool_mode
        if requested == "grammar":
            raise AutocoderError(
                "--tool-mode grammar is for in-process GGUF models; use native, instructor or auto"
            )
        self.tool_choice = self._tool_choice(requested)
        self.tool_mode = (
            requested if requested != "auto" else ("native" if self.tool_choice else "instructor")
        )
        if self.tool_mode == "native" and not self.tool_choice:
            self.tool_choice = (
                "named"  # asked for native on an endpoint the probe doubted: the safest form
            )
        self.context = profile.context or self._known_context()
        self.identity = {
            "kind": "litellm",
            "model": profile.model,
            "api_base": profile.api_base,
            "tool_mode": self.tool_mode,
            "tool_choice": self.tool_choice,
            "instructor_mode": profile.instructor_mode,
            "json_schema": profile.json_schema,
        }

    def _known_context(self) -> int | None:
        """The model's input window from litellm's data; None when unknown (the server then says)."""
        if self.profile.api_base:
            return None
        try:
            return (
                int(litellm().get_model_info(self.profile.model).get("max_input_tokens") or 0)
                or None
            )
        except Exception:
            return None

    # ---- keys -------------------------------------------------------------------------------------
    def _key_names(self) -> list[str]:
        """The variables that hold this provider's key (for lookups and for error messages)."""
        if self.profile.api_key_env:
            return [self.profile.api_key_env]
        if self.missing:
            return self.missing
        try:  # the key is set (or not needed): name litellm's usual variable for messages all the same
            return [f"{litellm().get_llm_provider(self.profile.model)[1].upper()}_API_KEY"]
        except Exception:
            return []

    def _find_key(self) -> str | None:
        """From the environment, or the current folder's .env. A server on this machine gets no key
        of yours unless you pass --api-key. A missing key is an error now, before the run starts."""
        if is_local(self.profile.api_base):
            return "sk-no-key-needed"  # the OpenAI client insists on some key
        for name in self.key_names:
            if os.environ.get(name):
                return os.environ[name]
        if Path(".env").is_file() and self.key_names:
            from dotenv import dotenv_values

            values = dotenv_values(".env")
            for name in self.key_names:
                if values.get(name):
                    return values[name]
        if not self.missing:
            return None  # litellm finds it in the environment itself
        names = " or ".join(self.key_names)
        raise AutocoderError(
            f"no API key for {self.profile.model}: set {names} (environment or ./.env) or pass --api-key"
        )

    def scrub(self, text: str) -> str:
        return (
            text.replace(self._api_key, "***") if self._api_key and len(self._api_key) > 3 else text
        )

    # ---- calls ------------------------------------------------------------------------------------
    def _completion(self, **kwargs: Any) -> Any:
        """litellm.completion with the endpoint, key and retries; faults become ModelFailed."""
        lib = litellm()
        kwargs.update(
            model=self.profile.model,
            api_base=self.profile.api_base,
            api_key=self._api_key,
            timeout=TIMEOUT_S,
            num_retries=0,
        )
        try:
            return with_retries(lambda: lib.completion(**kwargs))
        except Exception as exc:
            if type(exc).__module__.startswith(("litellm", "openai", "httpx")):
                failed = explain(exc, self.profile, self.key_names)
                raise ModelFailed(self.scrub(str(failed))) from None
            raise

    def _tool_choice(self, requested: str) -> str | None:
        """What the endpoint's tool calls can do (see `known_tool_choice`); when unknown, one probe,
        remembered per model and endpoint. A server that cannot be reached is a start-up error."""
        if requested == "instructor":
            return None
        found = known_tool_choice(self.profile, self.store)
        if found != UNKNOWN:
            return found
        try:
            found = self.probe()
        except ModelFailed as exc:
            raise AutocoderError(str(exc)) from None
        if self.store is not None:
            self.store.set(probe_key(self.profile), found or "")
        return found

    def probe(self) -> str | None:
        ask = [{"role": "user", "content": "Use the add_numbers tool to add 2 and 3."}]
        common = {"messages": ask, "tools": _PROBE_TOOLS, "max_tokens": 64, "temperature": 0}
        if _tool_call_ok(self._completion(tool_choice="required", **common)):
            return "any"
        named = {"type": "function", "function": {"name": "add_numbers"}}
        if _tool_call_ok(self._completion(tool_choice=named, **common)):
            return "named"
        return None

    def _usage(self, response: Any, evaluated: int = -1) -> Usage:
        u = getattr(response, "usage", None)
        prompt, completion = (
            (getattr(u, "prompt_tokens", 0) or 0),
            (getattr(u, "completion_tokens", 0) or 0),
        )
        if (
            self.profile.input_cost_per_mtok is not None
            or self.profile.output_cost_per_mtok is not None
        ):
            cost = (
                prompt * (self.profile.input_cost_per_mtok or 0)
                + completion * (self.profile.output_cost_per_mtok or 0)
            ) / 1e6
        else:
            try:
                cost = float(
                    litellm().completion_cost(
                        completion_response=response, model=self.profile.model
                    )
                    or 0.0
                )
            except Exception:  # unknown or local model: no price, never a crash
                cost = 0.0
        return Usage(prompt, completion, evaluated, cost)

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
        if not actions:  # a plain chat turn
            response = self._completion(messages=messages, **sampling)
            decision = Decision(raw=_text(response), usage=self._usage(response))
        elif self.tool_mode == "native":
            decision = self._native(messages, actions, sampling)
        else:
            decision = self._instructor(messages, actions, sampling)
        return replace(decision, seconds=time.monotonic() - start)

    # ---- native tool calls --------------------------------------------------------------------------
    def _native(
        self, messages: list[Message], actions: list[type[Action]], sampling: dict[str, Any]
    ) -> Decision:
        if len(actions) == 1:
            tools, choice = [tool_schema(actions[0])], _named(actions[0].name)
        elif self.tool_choice == "named":
            reply = reply_model(actions)
            act = {
                "name": "act",
                "description": reply.__doc__,
                "parameters": reply.model_json_schema(),
            }
            tools, choice = [{"type": "function", "function": act}], _named("act")
        else:
            tools, choice = [tool_schema(a) for a in actions], "required"
        response = self._completion(messages=messages, tools=tools, tool_choice=choice, **sampling)
        usage = self._usage(response)
        choice0 = response.choices[0]
        message = choice0.message
        calls = message.tool_calls or []
        raw = calls[0].function.arguments if calls else (message.content or "")
        if choice0.finish_reason == "length" or usage.completion_tokens >= sampling["max_tokens"]:
            cut = f"the reply was cut at {sampling['max_tokens']} tokens; write shorter code"
            return Decision(raw=raw, error=cut, usage=usage, cut=True)
        if not calls:  # some models print the call as text: take it if it is in the text format
            decision = decision_from_text(raw, actions)
            error = "the reply called no tool: call exactly one of the tools"
            return (
                Decision(raw=raw, error=error, usage=usage)
                if decision.error
                else replace(decision, usage=usage)
            )
        name = calls[0].function.name
        try:
            args = json.loads(raw or "{}", strict=False)  # small models put raw newlines in strings
            if name == "act":
                thought, name, args = from_reply(reply_model(actions).model_validate(args))
            else:
                action = next((a for a in actions if a.name == name), None)
                if action is None:
                    raise FormatError(
                        f"unknown tool {name!r}: use one of {', '.join(a.name for a in actions)}"
                    )
                thought, args = (message.content or "").strip(), validate_args(action, args)
        except json.JSONDecodeError:
            return Decision(
                raw=raw, error=f"the {name} call's arguments are not valid JSON", usage=usage
            )
        except (FormatError, ValidationError) as exc:
            return Decision(raw=raw, error=_first_line(exc), usage=usage)
        return Decision(thought=thought, action=name, args=args, raw=raw, usage=usage)

    # ---- Instructor structured output -----------------------------------------------------------------
    def _instructor(
        self, messages: list[Message], actions: list[type[Action]], sampling: dict[str, Any]
    ) -> Decision:
        import instructor
        from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

        mode = {
            "json": instructor.Mode.JSON,
            "md_json": instructor.Mode.MD_JSON,
            "json_schema": instructor.Mode.JSON_SCHEMA,
            "tools": instructor.Mode.TOOLS,
        }[self.profile.instructor_mode]
        reply = reply_model(actions)
        if self.profile.json_schema:  # llama.cpp servers constrain decoding to this schema
            sampling = {
                **sampling,
                "extra_body": {
                    "response_format": {"type": "json_object", "schema": reply.model_json_schema()}
                },
            }
        failure: list[ModelFailed] = []

        def completion(**kwargs: Any) -> Any:
            try:
                return self._completion(**kwargs)
            except ModelFailed as exc:  # Instructor wraps what it catches: keep ours to re-raise
                failure.append(exc)
                raise

        client = instructor.from_litellm(completion, mode=mode)
        try:
            parsed, response = client.chat.completions.create_with_completion(
                messages=messages, response_model=reply, max_retries=1, **sampling
            )
        except IncompleteOutputException as exc:
            usage = self._usage(getattr(exc, "last_completion", None))
            cut = f"the reply was cut at {sampling['max_tokens']} tokens; write shorter code"
            return Decision(
                raw=_text(getattr(exc, "last_completion", None)), error=cut, usage=usage, cut=True
            )
        except InstructorRetryException as exc:
            if failure:
                raise failure[-1] from None
            last = getattr(exc, "last_completion", None)
            usage = self._usage(last)
            if usage.completion_tokens >= sampling["max_tokens"]:
                cut = f"the reply was cut at {sampling['max_tokens']} tokens; write shorter code"
                return Decision(raw=_text(last), error=cut, usage=usage, cut=True)
            return Decision(
                raw=_text(last),
                error=f"the reply did not match the schema: {_first_line(exc)}",
                usage=usage,
            )
        thought, name, args = from_reply(parsed)
        return Decision(
            thought=thought,
            action=name,
            args=args,
            raw=_text(response),
            usage=self._usage(response),
        )


def _named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def _text(response: Any) -> str:
    try:
        return response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
    for marker in ("<last_exception>", "Last error:"):
        if marker in text:
            text = text.split(marker, 1)[1].strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]
