"""Which tool mode a model gets: the request, the profile, litellm's capability data, or a probe
of the endpoint. `autocoder run` and `autocoder models` decide through the same `choose`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..exceptions import AutocoderError
from ..state import Store
from .modes import MODES, Codec, Send, check, forced, requestable

UNKNOWN = "unknown"  # what `known_tool_choice` says when only a probe of the endpoint can tell
PROBE_KEY = "probe:v1:"
KINDS = {"llama_cpp": "in-process GGUF models", "litellm": "served models (litellm)"}

ToolChoice = str | None  # "any" (the model picks among tools), "named" (only a forced tool), None


def choose(
    profile: Any,
    requested: str | None = None,
    known: ToolChoice = UNKNOWN,
    probe: Callable[[], ToolChoice] | None = None,
) -> Codec | None:
    """The codec for a profile: the request (else the profile's), checked against what the
    provider kind can serve; for `auto` or `native`, what the endpoint's tool calls can do:
    `known` (profile, capability data, a remembered probe), else `probe()`. None only when that
    is unknown and no probe was given (`autocoder models` never calls the model)."""
    requested = check(requested or "auto")
    requested = profile.tool_mode if requested == "auto" else requested
    kind, served = profile.kind, requestable(profile.kind)[1:]
    if requested == "auto" and len(served) == 1:  # an in-process model: its one mode
        return MODES[served[0]]
    if requested not in ("auto", *served):
        raise AutocoderError(_unserved(requested, kind))
    if requested == "instructor":
        return instructor(profile)
    if requested not in ("auto", "native"):
        return MODES[requested]
    if known == UNKNOWN:
        if probe is None:
            return None
        known = probe()
    if known == "any":
        return MODES["native"]
    if known == "named" or requested == "native":  # native on an endpoint in doubt: the safest form
        return MODES["named"]
    return instructor(profile)


def instructor(profile: Any) -> Codec:
    return replace(
        MODES["instructor"], flavour=profile.instructor_mode, json_schema=profile.json_schema
    )


def _unserved(requested: str, kind: str) -> str:
    if kind == "llama_cpp":
        return (
            f"an in-process GGUF model uses --tool-mode grammar; for {requested} tool calls serve "
            "it with `python -m llama_cpp.server --model FILE` and use --model openai/local "
            "--api-base http://127.0.0.1:8000/v1"
        )
    kinds = " or ".join(KINDS.get(k, k) for k in sorted(MODES[requested].serves)) or "tests"
    return f"--tool-mode {requested} is for {kinds}: use {', '.join(requestable(kind))}"


def probe_key(profile: Any) -> str:
    return f"{PROBE_KEY}{profile.model}|{profile.api_base or ''}"


def known_tool_choice(
    profile: Any, store: Store | None, model_info: Callable[[], dict]
) -> ToolChoice:
    """Without calling the model: the profile's word first, then the capability data of a model
    its provider serves (`model_info`, litellm's), then a probe remembered in `store`."""
    if profile.tool_choice:
        return profile.tool_choice
    if not profile.api_base:
        try:
            supports = model_info().get("supports_function_calling")
        except Exception:  # noqa: BLE001  (litellm raises anything for a model it does not know)
            supports = None
        if supports is not None:
            return "any" if supports else None
    if store is not None and (seen := store.get(probe_key(profile))) is not None:
        return seen or None
    return UNKNOWN


class Rejected(Exception):
    """The endpoint answered with an error status: it does not serve what was asked."""


def _tool(name: str, description: str, **types: str) -> dict[str, Any]:
    properties = {arg: {"type": kind} for arg, kind in types.items()}
    parameters = {"type": "object", "properties": properties, "required": list(types)}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


_PROBE_TOOLS = [
    _tool("add_numbers", "Add two integers.", a="integer", b="integer"),
    _tool("say", "Say a text.", text="string"),
]


def probe(send: Send) -> ToolChoice:
    """Ask for a tool call the strict way, then by name: the first the endpoint serves and answers
    with a well-formed call. A rejection (any error status: `send` raises Rejected) is an answer,
    never retried: llama-cpp-python's chatml-function-calling server fails "required" with a 500."""
    ask = [{"role": "user", "content": "Use the add_numbers tool to add 2 and 3."}]
    for choice, found in (("required", "any"), (forced("add_numbers"), "named")):
        try:
            response = send(
                messages=ask, tools=_PROBE_TOOLS, tool_choice=choice, max_tokens=64, temperature=0
            )
        except Rejected:
            continue
        if _tool_call_ok(response):
            return found
    return None


def _tool_call_ok(response: Any) -> bool:
    calls = response.choices[0].message.tool_calls or []
    if not calls or calls[0].function.name not in ("add_numbers", "say"):
        return False
    try:
        return isinstance(json.loads(calls[0].function.arguments or ""), dict)
    except json.JSONDecodeError:
        return False
