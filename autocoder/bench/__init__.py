"""`autocoder bench`: score a model on fixed goals, judged by acceptance tests the agent never
sees."""

from .goal import Goal
from .options import BenchOptions
from .runner import run_suite
from .suite import Suite, load

__all__ = ["BenchOptions", "Goal", "Suite", "load", "run_suite"]
