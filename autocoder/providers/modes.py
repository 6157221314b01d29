"""How actions reach a model: one codec per tool mode, and the one place a mode is chosen.

A codec makes the request's arguments from the offered actions and decodes the response into a
Decision; it also says how the prompt is shaped for it (its instruction, whether the worked
text-format examples are shown, whether the model continues a begun reply). The prompt and the
agent ask the provider's codec; nothing else compares mode names. A new mode is a new codec in
MODES, and nowhere else; `choose`
picks one for a profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from ..actions import Action, from_reply, reply_model, tool_schema
from ..actions.textformat import FormatError, parse, validate_args
from ..exceptions import AutocoderError, Late, ModelFailed
from ..state import Decision, Usage

Send = Callable[..., Any]  # litellm.completion's shape: keyword arguments -> an OpenAI response
Sampling = dict[str, Any]  # max_tokens, temperature, seed, stop
_WRITE = "Write real code: no TODO, no placeholders."


def cut(raw: str, usage: Usage, max_tokens: int) -> Decision:
    """A reply that ran out of tokens: never applied, and the model is told why."""
    error = f"the reply was cut at {max_tokens} tokens; write shorter code"
    return Decision(raw=raw, error=error, usage=usage, cut=True)


def late(raw: str, usage: Usage, seconds: float) -> Decision:
    """An action reply stopped at the run's time limit (Settings.until), local or remote: never
    applied, and the response cache never keeps it (a run with time would have had it whole)."""
    error = "the reply was stopped at the run's time limit"
    return Decision(raw=raw, error=error, usage=usage, seconds=seconds, cut=True, late=True)


def from_text(text: str, actions: list[type[Action]]) -> Decision:
    """A text-format reply as a Decision; a bad reply becomes a Decision with `error`."""
    try:
        thought, name, args = parse(text, actions)
    except FormatError as exc:
        return Decision(raw=text, error=str(exc))
    return Decision(thought=thought, action=name, args=args, raw=text)


@dataclass(frozen=True)
class Codec:
    """The text format (Thought, Action, fields): what a grammar-constrained local model writes."""

    name: str = "grammar"
    serves: frozenset[str] = frozenset({"llama_cpp"})  # the provider kinds that can use the mode
    instruction: str = (
        f"{_WRITE} Reply with a Thought line, an Action line, then the action's fields; "
        "code goes in ```python blocks."
    )
    shows_examples: bool = True  # the worked example turns show the text format
    continues: bool = True  # the model continues a reply begun for it (Settings.prefix)

    def request(self, actions: list[type[Action]]) -> dict[str, Any]:
        raise AutocoderError(f"tool mode {self.name} is not served over an API")

    def decision(self, response: Any, actions: list[type[Action]], max_tokens: int) -> Decision:
        return from_text(text_of(response), actions)

    def call(
        self, send: Send, messages: list[Any], actions: list[type[Action]], sampling: Sampling
    ) -> Decision:
        """One request through `send`, decoded; a malformed reply is a Decision with `error`."""
        response = send(messages=messages, **self.request(actions), **sampling)
        return self.decision(response, actions, sampling["max_tokens"])


@dataclass(frozen=True)
class Native(Codec):
    """One tool per action, and the model must call one (tool_choice "required")."""

    name: str = "native"
    serves: frozenset[str] = frozenset({"litellm"})
    instruction: str = (
        f"{_WRITE} Call exactly one of the tools; put complete file contents in its arguments."
    )
    shows_examples: bool = False
    continues: bool = False

    def request(self, actions: list[type[Action]]) -> dict[str, Any]:
        if len(actions) == 1:
            return {"tools": [tool_schema(actions[0])], "tool_choice": forced(actions[0].name)}
        return {"tools": [tool_schema(a) for a in actions], "tool_choice": "required"}

    def decision(self, response: Any, actions: list[type[Action]], max_tokens: int) -> Decision:
        usage = usage_of(response)
        choice = response.choices[0]
        message = choice.message
        calls = message.tool_calls or []
        raw = calls[0].function.arguments if calls else (message.content or "")
        if choice.finish_reason == "length" or usage.completion_tokens >= max_tokens:
            return cut(raw, usage, max_tokens)
        if not calls:  # some models print the call as text: take it if it is in the text format
            decision = from_text(raw, actions)
            if decision.error:
                error = "the reply called no tool: call exactly one of the tools"
                return Decision(raw=raw, error=error, usage=usage)
            return replace(decision, usage=usage)
        name = calls[0].function.name
        try:
            args = json.loads(raw or "{}", strict=False)  # small models put raw newlines in strings
            if name == ACT:
                thought, name, args = from_reply(reply_model(actions).model_validate(args))
            else:
                action = next((a for a in actions if a.name == name), None)
                if action is None:
                    offered = ", ".join(a.name for a in actions)
                    raise FormatError(f"unknown tool {name!r}: use one of {offered}")
                thought, args = (message.content or "").strip(), validate_args(action, args)
        except json.JSONDecodeError:
            error = f"the {name} call's arguments are not valid JSON"
            return Decision(raw=raw, error=error, usage=usage)
        except (FormatError, ValidationError) as exc:
            return Decision(raw=raw, error=first_line(exc), usage=usage)
        return Decision(thought=thought, action=name, args=args, raw=raw, usage=usage)


ACT = "act"


@dataclass(frozen=True)
class Named(Native):
    """One `act` tool whose argument is the union of the actions, forced by name: for an endpoint
    that honours only a named tool choice (llama-cpp-python's server with a plain chat template)."""

    name: str = "named"

    def request(self, actions: list[type[Action]]) -> dict[str, Any]:
        if len(actions) == 1:
            return super().request(actions)
        reply = reply_model(actions)
        act = {"name": ACT, "description": reply.__doc__, "parameters": reply.model_json_schema()}
        return {"tools": [{"type": "function", "function": act}], "tool_choice": forced(ACT)}


@dataclass(frozen=True)
class Instructor(Codec):
    """Instructor's structured output of the actions' union (JSON, MD_JSON, JSON_SCHEMA or TOOLS);
    with `json_schema`, a llama.cpp server also constrains its decoding to the schema."""

    name: str = "instructor"
    serves: frozenset[str] = frozenset({"litellm"})
    instruction: str = (
        f"{_WRITE} Answer with one JSON object: a short thought, and the call of exactly one "
        "action with its arguments."
    )
    shows_examples: bool = False
    continues: bool = False
    flavour: str = "json"  # the profile's instructor_mode
    json_schema: bool = False

    def call(
        self, send: Send, messages: list[Any], actions: list[type[Action]], sampling: Sampling
    ) -> Decision:
        import instructor
        from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

        reply, max_tokens = reply_model(actions), sampling["max_tokens"]
        if self.json_schema:
            schema = {"type": "json_object", "schema": reply.model_json_schema()}
            sampling = {**sampling, "extra_body": {"response_format": schema}}
        failure: list[Exception] = []

        def completion(**kwargs: Any) -> Any:
            try:
                return send(**kwargs)
            except (ModelFailed, Late) as exc:  # Instructor wraps what it catches: ours re-raised
                failure.append(exc)
                raise

        mode = getattr(instructor.Mode, self.flavour.upper())  # json, md_json, json_schema, tools
        client = instructor.from_litellm(completion, mode=mode)
        try:
            parsed, response = client.chat.completions.create_with_completion(
                messages=messages, response_model=reply, max_retries=1, **sampling
            )
        except IncompleteOutputException as exc:
            last = getattr(exc, "last_completion", None)
            return cut(text_of(last), usage_of(last), max_tokens)
        except InstructorRetryException as exc:
            if failure:
                raise failure[-1] from None
            last = getattr(exc, "last_completion", None)
            usage = usage_of(last)
            if usage.completion_tokens >= max_tokens:
                return cut(text_of(last), usage, max_tokens)
            error = f"the reply did not match the schema: {first_line(exc)}"
            return Decision(raw=text_of(last), error=error, usage=usage)
        thought, name, args = from_reply(parsed)
        return Decision(
            thought=thought, action=name, args=args, raw=text_of(response), usage=usage_of(response)
        )


# The scripted fake reads the text format, shows the examples, but is never asked to continue.
SCRIPTED = Codec(name="scripted", serves=frozenset(), continues=False)
MODES: dict[str, Codec] = {c.name: c for c in (Codec(), Native(), Named(), Instructor(), SCRIPTED)}


def requestable(kind: str | None = None) -> tuple[str, ...]:
    """The --tool-mode values: auto, then the modes some provider kind (or `kind`) can use."""
    return (
        "auto",
        *(n for n, c in MODES.items() if c.serves and (kind is None or kind in c.serves)),
    )


def check(requested: str) -> str:
    """`requested` if it names a mode a user may ask for, else one clear error."""
    if requested not in requestable():
        raise AutocoderError(f"unknown tool mode {requested!r}: use {', '.join(requestable())}")
    return requested


# ---- reading responses ---------------------------------------------------------------------------
def forced(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def text_of(response: Any) -> str:
    try:
        return response.choices[0].message.content or ""
    except (AttributeError, IndexError, TypeError):
        return ""


def usage_of(response: Any) -> Usage:
    """Token counts of an OpenAI-shaped response (prices are the provider's: see remote)."""
    u = getattr(response, "usage", None)
    return Usage(getattr(u, "prompt_tokens", 0) or 0, getattr(u, "completion_tokens", 0) or 0)


def first_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
    text = str(exc).strip()
    for marker in ("<last_exception>", "Last error:"):
        if marker in text:
            text = text.split(marker, 1)[1].strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]
