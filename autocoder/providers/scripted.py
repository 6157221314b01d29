"""Providers without a model: a scripted queue of replies (tests) and a trajectory replay
(debugging)."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

from ..actions import Action
from ..exceptions import AutocoderError, Interrupted
from ..state import Decision
from .base import Message, Settings
from .modes import SCRIPTED, from_text


class ScriptedProvider:
    """Replies from a fixed queue: text in the action format, or ready Decisions."""

    name = "scripted"
    codec = SCRIPTED
    tool_mode = codec.name
    secrets: tuple[str, ...] = ()

    def __init__(self, replies: list[str | Decision]) -> None:
        self.identity: dict[str, Any] = {"kind": "scripted"}
        self.replies = deque(replies)
        self.calls: list[list[Message]] = []

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        self.calls.append(messages)
        if not self.replies:
            raise Interrupted("the script has no more replies")
        reply = self.replies.popleft()
        if isinstance(reply, str):
            return from_text(reply, actions) if actions else Decision(raw=reply)
        return reply


class ReplayProvider(ScriptedProvider):
    """Re-executes the decisions recorded in a trajectory file, without any model."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise AutocoderError(f"replay file not found: {path}")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise AutocoderError(f"{path} is not a trajectory (not UTF-8 text)") from None
        except OSError as exc:
            raise AutocoderError(f"replay file {path} cannot be read: {exc.strerror}") from None
        decisions = []
        for n, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                if record.get("type") == "step":
                    decisions.append(Decision.from_json(record.get("decision")))
            except ValueError as exc:
                why = str(exc).splitlines()[0]
                raise AutocoderError(
                    f"{path}:{n} is not a trajectory line ({why}): "
                    "replay a .autocoder/runs/*.jsonl file"
                ) from None
        super().__init__(decisions)
        self.name = f"replay:{path}"
