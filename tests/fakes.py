"""Fakes shared by the bench tests: a two-goal suite folder, a coder scripted for it in call
order, and workers for the process pool and a Ray cluster's actors (module level, so that a
spawned process or an actor finds them)."""

from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

from autocoder.bench.cap import Capped, Slots
from autocoder.bench.goal import Goal
from autocoder.bench.options import Task
from autocoder.bench.worker import Place
from autocoder.exceptions import AutocoderError
from autocoder.providers import ScriptedProvider, Settings
from autocoder.state import Decision

HIDDEN = "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def program(op: str) -> str:
    """main.py with `add(a, b)` as `a <op> b`; its main() lists the folder it runs in, so that an
    acceptance file there would show in what the agent observes."""
    return (
        "import os\n\n\n"
        f"def add(a, b):\n    return a {op} b\n\n\n"
        "def main():\n    print(sorted(os.listdir('.')))\n\n\n"
        'if __name__ == "__main__":\n    main()\n'
    )


RIGHT, WRONG = program("+"), program("-")


def solve(main: str) -> list[Decision]:
    """One goal and try of the agent: the fresh start's code block, then finish."""
    return [
        Decision(raw=f"```python\n{main}```"),
        Decision(action="finish", args={"reason": "done"}),
    ]


class Coder(ScriptedProvider):
    """Replies from its script in call order, never from what the prompt says; at every call it
    checks that no acceptance file is anywhere the agent can see."""

    name = "coder"

    def __init__(self, out: Path, replies: list[Decision]) -> None:
        super().__init__(replies)
        self.out = out

    def complete(self, messages, actions, settings):
        leaked = list((self.out / "projects").rglob("test_hidden*.py"))
        assert not leaked and "test_hidden" not in json.dumps(messages), leaked
        return super().complete(messages, actions, settings)


def suite_folder(tmp_path: Path) -> Path:
    """Two goals, `right` then `wrong` (by name), each judged by the hidden test of `add`."""
    root = tmp_path / "suite"
    for name, text in (
        ("right", "Write add(a, b) returning the sum."),
        ("wrong", "Write add(a, b), the wrong way."),
    ):
        (root / name).mkdir(parents=True)
        (root / name / "goal.toml").write_text(f'goal = "{text}"\nmax_steps = 4\n')
        (root / name / "test_hidden.py").write_text(HIDDEN)
    return root


class Echo:
    """A pool worker that records which process ran each task, and how many it ran before."""

    def __init__(self, worker: int = 0) -> None:
        self.ran, self.worker = 0, worker

    def run(self, task: Task) -> dict[str, Any]:
        self.ran += 1
        if task.goal.name == "die":
            os._exit(3)  # a crash that sends nothing back
        return {"goal": task.goal.name, "pid": os.getpid(), "ran": self.ran, "worker": self.worker}


def no_model(worker: int = 0) -> Echo:
    """A worker that cannot start (its model is missing, say)."""
    raise AutocoderError("no model at /nowhere.gguf")


class Slow(ScriptedProvider):
    """A model that takes `seconds` over every call and answers "ok", whatever it is asked."""

    name = "slow"

    def __init__(self, seconds: float) -> None:
        super().__init__([])
        self.seconds = seconds

    def complete(self, messages, actions, settings):
        self.began = time.time()  # inside the cap's slot: the call's flight, as the cap sees it
        time.sleep(self.seconds)
        self.ended = time.time()
        return Decision(raw="ok")


class Caller:
    """A worker that makes one model call per task, through the run's cap, and records where it
    ran and when its call was in flight (measured by the model, inside the cap's slot)."""

    def __init__(self, place: Place, out: Path, slots: Slots, seconds: float) -> None:
        self.place, self.out = place, out
        self.model = Slow(seconds)
        self.provider = Capped(self.model, slots)

    def run(self, task: Task) -> dict[str, Any]:
        self.provider.complete([{"role": "user", "content": task.goal.goal}], [], Settings())
        return {
            "goal": task.goal.name,
            "try": task.attempt,
            "host": self.place.host,
            "worker": self.place.worker,
            "flight": [self.model.began, self.model.ended],
        }


def pool_caller(slots: Slots, seconds: float, n: int) -> Caller:
    """Worker n of a local pool, its calls capped by `slots` (a semaphore the processes share)."""
    return Caller(Place(worker=n), Path("."), slots, seconds)


def cluster_caller(slots: Any, seconds: float, place: Place, scratch: Path) -> Caller:
    """An actor's worker, its calls capped by the run's Slots actor."""
    from autocoder.bench.cap import ClusterSlots

    return Caller(place, scratch, ClusterSlots(slots, place.worker), seconds)


def capped_run(address: str, out: str, limit: int, tasks: int, seconds: float) -> dict[str, Any]:
    """`tasks` one-call tasks on two actors of the cluster at `address`, at most `limit` calls in
    flight; the records, and the most calls the cap ever let through at once."""
    import ray

    from autocoder.bench import ray_cluster

    cluster = ray_cluster.connect(address)
    try:
        slots = cluster.slots(limit)
        todo = [Task(Goal(f"g{n}", f"call {n}"), 0) for n in range(tasks)]
        start = partial(cluster_caller, slots, seconds)
        records = list(cluster.dispatch(todo, start, 2, Path(out), slots))
        return {"records": records, "most": ray.get(slots.most.remote())}
    finally:
        cluster.close()
