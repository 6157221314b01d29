"""What a bench run does: its options, and the unit of work (one goal, one try)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from ..loop import ATTEMPTS, MAX_STEPS, MAX_TOKENS, PATIENCE, SAMPLES
from ..providers import DEFAULT_MODEL
from .goal import Goal

# what `autocoder run` takes (a suite folder's goal may set its own steps and time limit, never
# its candidates or reply length: the bench measures what users get)
DEFAULT_STEPS, DEFAULT_SAMPLES, DEFAULT_TOKENS = MAX_STEPS, SAMPLES, MAX_TOKENS
# in a bench's manifest: a record made under other defaults is not resumed into this run
DEFAULTS = {
    "samples": SAMPLES,
    "max_tokens": MAX_TOKENS,
    "max_steps": MAX_STEPS,
    "attempts": ATTEMPTS,
    "patience": PATIENCE,
}
MAX_LOCAL_JOBS, MAX_CLUSTER_JOBS = 64, 1024


class BenchOptions(BaseModel):
    """How to run a suite; the same options make the same records (with the cache or a cassette)."""

    model_config = ConfigDict(extra="forbid")

    model: str = DEFAULT_MODEL
    api_base: str | None = None
    api_key: str | None = Field(None, exclude=True, repr=False)  # never in a manifest or a record
    tool_mode: str = "auto"
    cache: bool = True
    tries: int = Field(1, ge=1, le=100)
    jobs: int = Field(1, ge=1, le=MAX_CLUSTER_JOBS)  # above MAX_LOCAL_JOBS only with `ray`
    single_shot: bool = False
    plain: bool = False  # the baseline: one plain chat turn per goal, its code block as main.py
    samples: int | None = Field(None, ge=1, le=64)  # default: DEFAULT_SAMPLES
    max_steps: int | None = Field(None, ge=1)  # default: the goal's, else DEFAULT_STEPS
    temperature: float | None = Field(None, ge=0, le=2)  # default: 0 for one try, 0.7 for several
    max_tokens: int | None = Field(None, ge=16)  # default: DEFAULT_TOKENS
    # default: the goal's, else run's (180 s embedded, 1800 s others)
    timeout_s: float | None = Field(None, gt=0)
    seed: int = 0
    unsafe: bool = False
    cassette: str | None = None  # record or replay every model call (see cassettes.py)
    record: bool = False
    # where the tasks run: None here, else a Ray cluster's address ("auto": RAY_ADDRESS or the one
    # running here); the same options make the same records either way
    ray: str | None = None
    # the most model calls in flight at once across all workers (a paid API's rate limit)
    max_concurrent_calls: int | None = Field(None, ge=1)

    @property
    def mode(self) -> str:
        """agent, or one of the two baselines: single-shot, plain."""
        return "plain" if self.plain else "single-shot" if self.single_shot else "agent"

    @property
    def sampling_temperature(self) -> float:
        """The temperature asked for, else 0 for one try and 0.7 for several."""
        if self.temperature is not None:
            return self.temperature
        return 0.0 if self.tries == 1 else 0.7

    @property
    def candidates(self) -> int:
        return self.samples or DEFAULT_SAMPLES

    @property
    def reply_tokens(self) -> int:
        return self.max_tokens or DEFAULT_TOKENS


@dataclass(frozen=True)
class Task:
    """One goal and one try: what a worker runs and a record describes."""

    goal: Goal
    attempt: int  # the try, from 0
