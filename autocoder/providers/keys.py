"""Where a served model's API key comes from: the command line, the environment, or ./.env.
The key's value is held by the provider only; names of variables are what messages show."""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import AutocoderError
from .faults import is_local, litellm
from .profiles import Profile

LOCAL_KEY = "sk-no-key-needed"  # a server on this machine gets none of yours; the client wants one


def missing_keys(profile: Profile) -> list[str]:
    """The key variables litellm looks for and finds unset (none for a local server)."""
    if profile.api_key_env:
        return [] if os.environ.get(profile.api_key_env) else [profile.api_key_env]
    if is_local(profile.api_base):
        return []
    report = litellm().validate_environment(model=profile.model, api_base=profile.api_base)
    return [k for k in report.get("missing_keys", []) if k.endswith(("_KEY", "_TOKEN"))]


def key_names(profile: Profile, missing: list[str]) -> list[str]:
    """The variables that hold this provider's key (for lookups and for error messages)."""
    if profile.api_key_env:
        return [profile.api_key_env]
    if missing:
        return missing
    try:  # the key is set (or not needed): name litellm's usual variable for messages all the same
        return [f"{litellm().get_llm_provider(profile.model)[1].upper()}_API_KEY"]
    except Exception:  # noqa: BLE001  (litellm raises anything for a model it cannot place)
        return []


def find_key(profile: Profile, names: list[str], missing: list[str]) -> str | None:
    """From the environment, or the current folder's .env. A server on this machine gets no key
    of yours unless you pass --api-key. A missing key is an error now, before the run starts."""
    if is_local(profile.api_base):
        return LOCAL_KEY
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    if Path(".env").is_file() and names:
        from dotenv import dotenv_values

        values = dotenv_values(".env")
        for name in names:
            if values.get(name):
                return values[name]
    if not missing:
        return None  # litellm finds it in the environment itself
    raise AutocoderError(
        f"no API key for {profile.model}: set {' or '.join(names)} (environment or ./.env) "
        "or pass --api-key"
    )
