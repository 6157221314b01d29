"""Library entry point: validate a RunConfig, build the parts, run the agent."""

from __future__ import annotations

from collections.abc import Callable

from . import sandbox
from .agent import Agent, Hooks
from .config import RunConfig, check_project_dir
from .providers import Settings, resolve
from .state import RunResult
from .workspace import Workspace


def run(
    config: RunConfig, hooks: Hooks | None = None, confirm: Callable[[int], bool] | None = None
) -> RunResult:
    """Run one goal. Bad input raises AutocoderError before anything is written."""
    directory = config.directory
    check_project_dir(directory)
    # refuse now, before anything is written, if code cannot run isolated
    policy = sandbox.require(config.unsafe)
    key = config.api_key.get_secret_value() if config.api_key else None
    provider = resolve(
        config.model,
        api_base=config.api_base,
        api_key=key,
        tool_mode=config.tool_mode,
        cache=config.cache,
    )
    if hooks is None and config.log_level != "quiet":
        from .progress import ConsoleHooks

        hooks = ConsoleHooks(debug=config.log_level == "debug")
    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        temperature=config.temperature, max_tokens=config.max_tokens, seed=config.seed
    )
    if confirm is None and config.step:
        from .progress import ask_to_continue

        confirm = ask_to_continue
    replay = config.model.startswith("replay:")
    agent = Agent(
        provider,
        Workspace(directory),
        config.goal,
        max_steps=config.max_steps,
        time_limit_s=config.time_limit,
        settings=settings,
        samples=1 if replay else config.samples,  # replays hold the chosen one
        plain_start=not replay,  # a replay holds the chosen candidate as an action
        hooks=hooks,
        confirm=confirm,
        memo=getattr(provider, "cache", None),  # with the response cache, observations too
        allow_install=config.allow_install,
        policy=policy,
    )
    return agent.run()
