"""`autocoder start`: a small menu over saved projects and options, kept in the user's config
folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.prompt import Confirm, IntPrompt, Prompt
from rich.table import Table

from ..loop.config import RunConfig, slug
from ..progress import safe
from ..project.workspace import atomic_write

DEFAULT_OPTIONS = {
    "model": "smollm2",
    "max_steps": 25,
    "step": False,
    "log_level": "normal",
    "allow_install": False,
}


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autocoder"


class Store:
    """Saved projects and options, as one JSON file written atomically."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "projects.json"
        data: Any = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (ValueError, OSError):
                data = {}
        data = data if isinstance(data, dict) else {}
        projects, options = data.get("projects"), data.get("options")
        keys = ("name", "project_dir", "goal")
        # a damaged entry is dropped, the rest kept
        self.projects: list[dict[str, str]] = [
            p
            for p in (projects if isinstance(projects, list) else [])
            if isinstance(p, dict) and all(isinstance(p.get(k), str) for k in keys)
        ]
        known = {
            k: v
            for k, v in (options if isinstance(options, dict) else {}).items()
            if k in DEFAULT_OPTIONS
        }
        self.options: dict[str, Any] = {**DEFAULT_OPTIONS, **known}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"projects": self.projects, "options": self.options}, indent=2)
        atomic_write(self.path, body.encode())


def _show(console: Console, store: Store) -> None:
    table = Table(title="saved projects", show_lines=False)
    for col in ("#", "name", "folder", "goal"):
        table.add_column(col)
    for i, p in enumerate(store.projects, 1):
        table.add_row(str(i), safe(p["name"]), safe(p["project_dir"]), safe(p["goal"][:60]))
    console.print(table if store.projects else "[dim]no saved projects yet[/]")
    opts = store.options
    console.print(
        f"[dim]model {safe(opts['model'])} · max steps {opts['max_steps']} · "
        f"step mode {opts['step']} · log {opts['log_level']}[/]"
    )


def _pick(store: Store) -> dict[str, str] | None:
    if not store.projects:
        return None
    n = IntPrompt.ask("project number", choices=[str(i) for i in range(1, len(store.projects) + 1)])
    return store.projects[n - 1]


def _run(console: Console, store: Store, project: dict[str, str]) -> None:
    from ..api import run

    config = RunConfig.build(
        goal=project["goal"],
        name=project["name"],
        project_dir=project["project_dir"],
        **store.options,
    )
    result = run(config)
    console.print(
        f"{result.status}: {safe(result.reason)} ({result.steps} steps, {result.wall_s:.1f} s)",
        highlight=False,
    )


def menu(store: Store | None = None, console: Console | None = None) -> None:
    """Loop over the menu until the user quits."""
    store = store or Store()
    console = console or Console()
    while True:
        _show(console, store)
        choice = Prompt.ask(
            "action", choices=["new", "run", "edit", "delete", "options", "quit"], default="new"
        )
        if choice == "quit":
            return
        if choice == "new":
            goal = Prompt.ask("goal")
            name = Prompt.ask("name", default=slug(goal))
            folder = Prompt.ask("project folder", default=name)
            RunConfig.build(goal=goal, name=name, project_dir=folder)  # refuses an empty goal now
            project = {"name": name, "goal": goal, "project_dir": folder}
            store.projects.append(project)
            store.save()
            if Confirm.ask("run it now?", default=True):
                _run(console, store, project)
        elif choice == "options":
            o = store.options
            o["model"] = Prompt.ask("model", default=o["model"])
            o["max_steps"] = IntPrompt.ask("max steps", default=o["max_steps"])
            o["step"] = Confirm.ask("step mode", default=o["step"])
            o["log_level"] = Prompt.ask(
                "log level", choices=["normal", "debug", "quiet"], default=o["log_level"]
            )
            o["allow_install"] = Confirm.ask(
                "pip-install packages the code imports (into the project's .venv)?",
                default=o["allow_install"],
            )
            store.save()
        else:
            project = _pick(store)
            if project is None:
                console.print("no saved projects: choose new first")
            elif choice == "run":
                _run(console, store, project)
            elif choice == "edit":
                project["goal"] = Prompt.ask("goal", default=project["goal"])
                store.save()
            elif Confirm.ask(
                f"forget {project['name']}? (its folder {project['project_dir']} is kept)"
            ):
                store.projects.remove(project)
                store.save()
