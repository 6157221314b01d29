"""Run configuration: one validated model, built from CLI options or the seed's dict."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .. import places, sandbox
from ..exceptions import AutocoderError
from ..providers import DEFAULT_MODEL
from ..providers.base import Settings
from ..providers.modes import requestable
from . import MAX_STEPS, MAX_TOKENS, SAMPLES

LogLevel = Literal["normal", "debug", "quiet"]

SEED_KEYS = {"project_name": "name"}  # the seed's names for our fields
TIME_LIMIT_S = 1800.0
EMBEDDED_TIME_LIMIT_S = 180.0
EMBEDDED_HINT = (
    "The embedded model (SmolLM2-135M) writes small functions and scripts, not much more: "
    "for harder goals give a larger one, e.g. --model ./qwen2.5-coder-7b.gguf or "
    "--model openai/gpt-4o-mini."
)


class AgentConfig(BaseModel):
    """How one agent runs: its budgets, sampling, installs and sandbox policy. The CLI and the
    library (through RunConfig.agent) and the bench build it the same way."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    max_steps: int = Field(MAX_STEPS, ge=1)
    time_limit_s: float = Field(TIME_LIMIT_S, gt=0)
    settings: Settings = Settings()
    # the most candidates of a fresh start (chosen among by execution); a repair step tries at
    # most loop.ATTEMPTS of them, a judgement one
    samples: int = Field(1, ge=1)
    plain_start: bool = False  # fresh starts sample plain chat turns (candidates.py, select.py)
    allow_install: bool = False  # pip-install what the code imports, into the project's .venv
    index_args: tuple[str, ...] = ()  # extra pip arguments (tests: a local wheel folder)
    policy: sandbox.Sandbox = sandbox.SAFE  # how the project's code runs (sandbox.require)


class RunConfig(BaseModel):
    """Everything one run needs; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    goal: str
    project_dir: Path | None = None
    name: str | None = None
    model: str = DEFAULT_MODEL
    api_base: str | None = None  # an OpenAI-compatible (or other litellm) endpoint
    tool_mode: str = "auto"  # one of providers.modes.requestable()
    cache: bool = True  # answer identical model requests from the response cache
    allow_install: bool = False  # pip-install modules the code imports into the project's .venv
    unsafe: bool = False  # run model-written code without isolation when none is available
    max_steps: int = Field(MAX_STEPS, ge=1, le=1000)
    time_limit_s: float | None = Field(None, gt=0)  # default: see `time_limit`
    step: bool = False
    log_level: LogLevel = "normal"
    api_key: SecretStr | None = None  # kept out of every log, trajectory and child process
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(MAX_TOKENS, ge=16)
    # the most candidates of a fresh start (see AgentConfig.samples)
    samples: int = Field(SAMPLES, ge=1, le=64)
    seed: int = 0

    @field_validator("goal")
    @classmethod
    def _goal(cls, goal: str) -> str:
        if not goal.strip():
            raise ValueError("the goal is empty: say what the program should do")
        return goal.strip()

    @field_validator("tool_mode")
    @classmethod
    def _tool_mode(cls, mode: str) -> str:
        if mode not in requestable():
            raise ValueError(f"unknown tool mode {mode!r}: use {', '.join(requestable())}")
        return mode

    @field_validator("project_dir", mode="before")
    @classmethod
    def _project_dir(cls, value: Any) -> Any:
        # before pydantic makes it a Path: Path("") is the current folder
        if isinstance(value, str | os.PathLike) and "\x00" not in os.fspath(value):
            why = places.problem(value)
            if why is not None:
                raise ValueError(f"{os.fspath(value)!r} {why}: choose a folder of its own")
        return value

    @field_validator("project_dir", "name", "model", "api_base")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if value is not None and "\x00" in str(value):
            raise ValueError("holds a NUL character: give a plain path or name")
        return value

    @property
    def time_limit(self) -> float:
        return (
            self.time_limit_s if self.time_limit_s is not None else default_time_limit(self.model)
        )

    @property
    def embedded(self) -> bool:
        return self.model == DEFAULT_MODEL

    @property
    def directory(self) -> Path:
        """The project folder: as given, else named after the project or the goal."""
        if self.project_dir is not None:
            return Path(self.project_dir).expanduser()
        return Path(slug(self.name or self.goal))

    def agent(self, policy: sandbox.Sandbox) -> AgentConfig:
        """The agent's part of this run; a replay holds the chosen candidates as actions."""
        replay = self.model.startswith("replay:")
        settings = Settings(
            temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed
        )
        return AgentConfig(
            max_steps=self.max_steps,
            time_limit_s=self.time_limit,
            settings=settings,
            samples=1 if replay else self.samples,
            plain_start=not replay,
            allow_install=self.allow_install,
            policy=policy,
        )

    @classmethod
    def build(cls, **values: Any) -> RunConfig:
        """Validate, turning pydantic's report into one clear line."""
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(map(str, err["loc"]))
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(sorted({*cls.model_fields, *SEED_KEYS} - {"name"}))
                raise AutocoderError(
                    f"unknown option {field!r}; known options: {allowed}"
                ) from None
            if err["type"] == "missing":
                raise AutocoderError(f"missing {field!r}: say what the program should do") from None
            raise AutocoderError(
                f"bad {field}: {err['msg'].removeprefix('Value error, ')}"
            ) from None

    @classmethod
    def from_seed(cls, data: dict[str, Any]) -> RunConfig:
        """The seed's dict (project_name, goal, project_dir, log_level, step, model, api_key...)."""
        if not isinstance(data, dict):
            raise AutocoderError("autocoder() takes a dict with at least a 'goal'")
        return cls.build(**{SEED_KEYS.get(k, k): v for k, v in data.items()})


def default_time_limit(model: str) -> float:
    """3 minutes on the embedded model (what it can do, it does in one or two rounds of
    candidates; more time rarely helps a 135M model), 30 minutes on any other."""
    return EMBEDDED_TIME_LIMIT_S if model == DEFAULT_MODEL else TIME_LIMIT_S


def slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())[:5]
    return "_".join(words) or "project"


def check_project_dir(path: Path) -> None:
    """Refuse a project folder we could not use, before anything is written."""
    places.refuse(path, "project dir")
    if path.exists() and not path.is_dir():
        raise AutocoderError(f"project dir {path} is a file: choose a folder")
    probe = (
        path if path.exists() else next((p for p in path.absolute().parents if p.exists()), None)
    )
    if probe is None or not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise AutocoderError(f"project dir {path} is not writable: choose another folder")
