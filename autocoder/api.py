"""Library entry point: validate a RunConfig, build the parts, run the agent."""

from __future__ import annotations

from collections.abc import Callable

from . import sandbox
from .loop.agent import Agent
from .loop.config import RunConfig, check_project_dir
from .loop.hooks import Hooks
from .project.workspace import Workspace
from .providers import resolve
from .state import RunResult


def run(
    config: RunConfig, hooks: Hooks | None = None, confirm: Callable[[int], bool] | None = None
) -> RunResult:
    """Run one goal. Bad input raises AutocoderError before anything is written."""
    directory = config.directory
    check_project_dir(directory)
    # refuse now, before anything is written, if code cannot run isolated
    policy = sandbox.require(config.unsafe)
    key = config.api_key.get_secret_value() if config.api_key else None
    store = None
    if config.cache:  # model replies and, with them, observations of identical projects
        from .providers.cache import open_cache

        store = open_cache()
    provider = resolve(
        config.model, api_base=config.api_base, api_key=key, tool_mode=config.tool_mode, store=store
    )
    if hooks is None and config.log_level != "quiet":
        from .progress import ConsoleHooks

        hooks = ConsoleHooks(debug=config.log_level == "debug")
    directory.mkdir(parents=True, exist_ok=True)
    if confirm is None and config.step:
        from .progress import ask_to_continue

        confirm = ask_to_continue
    agent = Agent(
        provider,
        Workspace(directory),
        config.goal,
        config.agent(policy),
        hooks=hooks,
        confirm=confirm,
        store=store,
    )
    return agent.run()
