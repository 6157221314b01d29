"""`--max-concurrent-calls N`: at most N model calls in flight across all the workers of a run,
so that 64 workers do not meet a paid API's rate limit as a storm of 429s. The count lives in one
place that every worker asks: a semaphore shared by the pool's processes on one machine, or an
actor on a Ray cluster (SlotKeeper, below). A call that is retried keeps its slot while it waits out
the server's Retry-After (providers/faults.py), so the endpoint never sees more than N at once."""

from __future__ import annotations

from collections import Counter
from multiprocessing import get_context
from typing import Any, Protocol

from ..actions import Action
from ..providers.base import Message, Settings, Wrapper, complete_many
from ..state import Decision


class Slots(Protocol):
    """Where a worker waits for its turn to call the model."""

    def acquire(self) -> Any: ...

    def release(self) -> Any: ...


class Capped(Wrapper):
    """Wraps a provider: each call waits for one of the run's slots and gives it back after (a
    round decoded together is one call to the endpoint: one slot)."""

    def __init__(self, inner: Any, slots: Slots) -> None:
        super().__init__(inner)
        self.slots = slots

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        self.slots.acquire()
        try:
            return self.inner.complete(messages, actions, settings)
        finally:
            self.slots.release()

    def complete_many(
        self, asks: list[tuple[list[Message], Settings]], actions: list[type[Action]]
    ) -> list[Decision]:
        if not self.parallel:
            return super().complete_many(asks, actions)
        self.slots.acquire()
        try:
            return complete_many(self.inner, asks, actions)
        finally:
            self.slots.release()


def local_slots(limit: int) -> Slots:
    """N slots that the pool's spawned processes share (handed to each as it starts)."""
    return get_context("spawn").BoundedSemaphore(limit)


class SlotKeeper:
    """The run's call slots on the cluster, an async actor: a worker waits in `acquire` until
    fewer than `limit` calls are in flight. Counted per worker, so that a dead worker's slots
    come back when the driver says it is gone (`forget`)."""

    def __init__(self, limit: int) -> None:
        import asyncio  # in the actor only

        self.limit, self.peak = limit, 0
        self.held: Counter[int] = Counter()
        self.gone: set[int] = set()
        self.changed = asyncio.Condition()

    async def acquire(self, worker: int) -> None:
        async with self.changed:
            await self.changed.wait_for(
                lambda: worker in self.gone or self.held.total() < self.limit
            )
            if worker not in self.gone:
                self.held[worker] += 1
                self.peak = max(self.peak, self.held.total())

    async def release(self, worker: int) -> None:
        async with self.changed:
            if self.held[worker] > 0:
                self.held[worker] -= 1
            self.changed.notify_all()

    async def forget(self, worker: int) -> None:
        async with self.changed:
            self.gone.add(worker)
            self.held.pop(worker, None)
            self.changed.notify_all()

    async def most(self) -> int:
        """The most calls that were ever in flight at once."""
        return self.peak


class ClusterSlots:
    """One worker's side of the run's `SlotKeeper` actor ."""

    def __init__(self, actor: Any, worker: int) -> None:
        self.actor, self.worker = actor, worker

    def acquire(self) -> None:
        import ray

        ray.get(self.actor.acquire.remote(self.worker))

    def release(self) -> None:
        import ray

        ray.get(self.actor.release.remote(self.worker))
