"""`autocoder models`: every profile, and whether it could run right now (no model call is made)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..state import Store
from .choose import choose, known_tool_choice
from .profiles import Profile, profiles


def _reachable(api_base: str) -> bool:
    url = urlparse(api_base)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=0.5):
            return True
    except OSError:
        return False


def _gguf(profile: Profile) -> tuple[str, str]:
    from ..exceptions import AutocoderError
    from .gguf import gguf_path

    try:
        return gguf_path(profile.gguf).name, "yes"
    except AutocoderError as exc:  # a missing file or wheel: say so
        return profile.gguf, f"no: {exc}"


def _litellm(profile: Profile, store: Store) -> tuple[str, str]:
    """(tool mode it would use, usable now?) without calling the model."""
    from .faults import litellm
    from .keys import missing_keys

    known = known_tool_choice(profile, store, lambda: litellm().get_model_info(profile.model))
    codec = choose(profile, None, known)  # no probe: unknown stays unknown
    mode = codec.name if codec else "auto (probed on first use)"
    if profile.api_base and not _reachable(profile.api_base):
        return mode, f"no: nothing answers at {profile.api_base}"
    keys = missing_keys(profile)
    if keys and not Path(".env").is_file():
        return mode, f"no: set {' or '.join(keys)}"
    return mode, "yes"


def table() -> list[dict[str, Any]]:
    from .cache import cache_dir, open_cache

    store = open_cache() if cache_dir().exists() else None
    rows = []
    for name, profile in profiles().items():
        if profile.kind == "llama_cpp":
            (model, usable), mode = _gguf(profile), choose(profile).name
        else:
            model = profile.model
            mode, usable = _litellm(profile, store)
        rows.append(
            {
                "name": name,
                "kind": profile.kind,
                "model": model,
                "tool_mode": mode,
                "context": profile.context,
                "usable": usable,
                "source": profile.source,
                "description": profile.description,
            }
        )
    return rows
