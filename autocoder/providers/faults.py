"""litellm, imported on first use, and what its faults mean: retried (transient), a rejection of
what was asked (the probe's answer), or one clear line that ends the run."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from ..exceptions import Late, ModelFailed
from .profiles import Profile

MAX_ATTEMPTS = 4
MAX_WAIT_S = 30.0


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


# ---- faults -----------------------------------------------------------------------------------
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


def rejected(exc: BaseException) -> bool:
    """The endpoint answered with an error status that is not about the key, the model's name,
    a rate limit or a timeout: it does not serve what was asked (the probe's "no"). A server that
    cannot be reached, or dropped the connection, said nothing: that is not a rejection."""
    lib = litellm()
    kinds = (
        lib.AuthenticationError,
        lib.PermissionDeniedError,
        lib.NotFoundError,
        lib.RateLimitError,
        lib.Timeout,
    )
    status = getattr(exc, "status_code", None)
    if isinstance(exc, kinds) or _connection_failed(exc) or not isinstance(status, int):
        return False
    return 400 <= status < 600


def with_retries(
    call: Callable[[], Any],
    sleep: Callable[[float], None] = time.sleep,
    retry: Callable[[BaseException], bool] = transient,
    until: float = 0.0,
) -> Any:
    """`call()`, retried while `retry(fault)` (transient faults): exponential backoff with jitter,
    or the server's Retry-After; given `until` (time.monotonic()), never waiting past it and
    raising Late there rather than calling again."""
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
        seconds = min(after, MAX_WAIT_S) if after is not None else backoff(state)
        return min(seconds, max(until - time.monotonic(), 0.0)) if until else seconds

    def attempt() -> Any:
        if until and time.monotonic() >= until:
            raise Late
        return call()

    retrying = Retrying(
        retry=retry_if_exception(lambda exc: not isinstance(exc, Late) and retry(exc)),
        wait=wait,
        stop=stop_after_attempt(MAX_ATTEMPTS),
        sleep=sleep,
        reraise=True,
    )
    return retrying(attempt)


def explain(exc: BaseException, profile: Profile, key_names: list[str]) -> ModelFailed:
    """One clear line for a failed call; the key's value never appears (see `scrub`)."""
    lib = litellm()
    model = profile.model
    keys = " or ".join(key_names) or "the provider's API key variable"
    if isinstance(exc, lib.AuthenticationError):
        return ModelFailed(f"the API key for {model} was rejected: set {keys} or pass --api-key")
    if isinstance(exc, lib.NotFoundError):
        return ModelFailed(
            f"{model} was not found by its provider: check the model name "
            "(autocoder models lists profiles)"
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


def _chain(exc: BaseException | None) -> list[BaseException]:
    """The fault and what it wraps (litellm wraps openai's, which wraps httpx's)."""
    found: list[BaseException] = []
    while exc is not None and len(found) < 10:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def _connection_failed(exc: BaseException | None) -> bool:
    """litellm reports a refused connection as an InternalServerError: look at what it wraps."""
    names = ("ConnectError", "APIConnectionError")
    return any(
        isinstance(e, ConnectionError) or type(e).__name__ in names or "Connection error" in str(e)
        for e in _chain(exc)
    )
