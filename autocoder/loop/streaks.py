"""The failures the loop reacts to, counted across its steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Streaks:
    """Failures the loop reacts to: malformed replies (too many in a row end the run) and steps
    that did not apply (the next asks are sampled warmer)."""

    malformed_in_row: int = 0
    malformed_total: int = 0
    failed_in_row: int = 0
    idle_in_row: int = 0  # repair steps that left the project where it was (PATIENCE)

    def malformed(self) -> None:
        self.malformed_in_row += 1
        self.malformed_total += 1
        self.failed_in_row += 1

    def applied(self, ok: bool) -> None:
        self.malformed_in_row = 0
        self.failed_in_row = 0 if ok else self.failed_in_row + 1
