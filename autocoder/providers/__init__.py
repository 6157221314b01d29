"""Model providers behind one Protocol; `resolve` turns a --model string into one."""

from __future__ import annotations

from ..exceptions import AutocoderError
from ..state import Store
from .base import Message, Provider, Settings
from .choose import choose
from .modes import check
from .profiles import Profile, adhoc, profiles
from .scripted import ReplayProvider, ScriptedProvider

DEFAULT_MODEL = "smollm2"

__all__ = [
    "DEFAULT_MODEL",
    "Message",
    "Profile",
    "Provider",
    "ReplayProvider",
    "ScriptedProvider",
    "Settings",
    "find_profile",
    "resolve",
]


def find_profile(model: str, api_base: str | None = None) -> Profile:
    """A named profile, or one made for a .gguf path or a litellm model string."""
    model = model.strip()
    known = profiles()
    if model in known:
        profile = known[model]
    elif model.endswith(".gguf") or "/" in model:
        profile = adhoc(model)
    else:
        names = ", ".join(known)
        raise AutocoderError(
            f"unknown model {model!r}: use a profile ({names}), a litellm model such as "
            "openai/gpt-4o-mini, a path to a .gguf file, or replay:FILE"
        )
    if api_base:
        if profile.kind != "litellm":
            raise AutocoderError(
                "--api-base is for served models (e.g. --model openai/any), not an in-process GGUF"
            )
        profile = profile.model_copy(update={"api_base": api_base})
    return profile


def resolve(
    model: str,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    tool_mode: str | None = None,
    store: Store | None = None,
    threads: int | None = None,
) -> Provider:
    """A provider for `model`, behind the response cache when a `store` is given (cache.open_cache:
    the caller owns it, and may share it, e.g. with the agent's observations); `threads` bounds
    an in-process model's CPU threads (None: every core)."""
    if tool_mode is not None:
        check(tool_mode)
    if model.strip().startswith("replay:"):
        return ReplayProvider(model.strip().removeprefix("replay:"))
    profile = find_profile(model, api_base)
    if profile.kind == "llama_cpp":
        choose(profile, tool_mode)  # an API tool mode for an in-process model: one clear error
    from .cache import CachedProvider

    provider: Provider
    if profile.kind == "llama_cpp":
        from .gguf import gguf_path
        from .llama_cpp import LlamaCppProvider

        path = gguf_path(profile.gguf)
        provider = LlamaCppProvider(
            path, n_ctx=profile.context, name=profile.name, store=store, threads=threads
        )
    else:
        from .remote import LiteLLMProvider

        provider = LiteLLMProvider(profile, api_key=api_key, tool_mode=tool_mode, store=store)
    return provider if store is None else CachedProvider(provider, store)
