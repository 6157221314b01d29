"""`autocoder bench`: score a model on fixed goals, judged by acceptance tests the agent never sees."""

from .runner import BenchOptions, run_suite
from .suite import Goal, Suite, load

__all__ = ["BenchOptions", "Goal", "Suite", "load", "run_suite"]
