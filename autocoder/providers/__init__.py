"""Model providers behind one Protocol; `resolve` turns a --model string into one."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import AutocoderError
from .base import Message, Provider, Settings
from .scripted import ReplayProvider, ScriptedProvider

DEFAULT_MODEL = "smollm2"

__all__ = ["DEFAULT_MODEL", "Message", "Provider", "ReplayProvider", "ScriptedProvider", "Settings", "resolve"]


def resolve(model: str) -> Provider:
    """A provider for `model`: smollm2 (embedded), a .gguf path, or replay:FILE."""
    model = model.strip()
    if model.startswith("replay:"):
        return ReplayProvider(model.removeprefix("replay:"))
    if model == DEFAULT_MODEL:
        from .llama_cpp import LlamaCppProvider, embedded_model_path

        return LlamaCppProvider(embedded_model_path(), name=DEFAULT_MODEL)
    if model.endswith(".gguf"):
        from .llama_cpp import LlamaCppProvider

        if not Path(model).expanduser().is_file():
            raise AutocoderError(f"GGUF file not found: {model}")
        return LlamaCppProvider(Path(model).expanduser())
    raise AutocoderError(
        f"unknown model {model!r}: use {DEFAULT_MODEL} (embedded), a path to a .gguf file, or replay:FILE"
    )
