"""Paid APIs, live: run only when asked (AUTOCODER_LIVE=1) and a key is set; the offline suite
covers the same code path against a real local server (test_server.py)."""

from __future__ import annotations

import os

import pytest

from autocoder.actions import Finish
from autocoder.providers import Settings, resolve

ASK = [{"role": "user", "content": "The project is complete and its tests pass. Call finish."}]


@pytest.mark.parametrize("model, key", [("openai/gpt-4o-mini", "OPENAI_API_KEY"),
                                        ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY")])  # fmt: skip
@pytest.mark.live
def test_a_paid_model_answers_with_a_native_tool_call(model, key):
    if os.environ.get("AUTOCODER_LIVE") != "1" or not os.environ.get(key):
        pytest.skip(f"live API test: set AUTOCODER_LIVE=1 and {key} to run it (it costs money)")
    provider = resolve(model, cache=False)
    decision = provider.complete(ASK, [Finish], Settings(max_tokens=200))
    assert provider.tool_mode == "native" and decision.action == "finish" and not decision.error
