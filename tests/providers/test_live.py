"""Paid APIs through litellm, the same path as any API-key user. Replayed from
cassettes/test_live/ when a cassette was recorded; recorded (costs money) with
    AUTOCODER_LIVE=1 OPENAI_API_KEY=... python -m pytest tests/providers/test_live.py \
        --record-mode=rewrite
and skipped otherwise. The offline suite covers the same code path against a real local server
(test_server.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autocoder.actions import Finish
from autocoder.providers import Settings, resolve

from ..conftest import recording

ASK = [{"role": "user", "content": "The project is complete and its tests pass. Call finish."}]


@pytest.mark.parametrize(
    "model, key",
    [
        ("openai/gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    ],
)
@pytest.mark.live
@pytest.mark.vcr
def test_a_paid_model_answers_with_a_native_tool_call(
    model, key, request, vcr_cassette_dir, monkeypatch
):
    cassette = Path(vcr_cassette_dir) / f"{request.node.name}.yaml"
    if recording(request.config) and (
        os.environ.get("AUTOCODER_LIVE") != "1" or not os.environ.get(key)
    ):
        pytest.skip(f"live API test: set AUTOCODER_LIVE=1 and {key} to record it (it costs money)")
    if not recording(request.config):
        if not cassette.exists():
            pytest.skip(
                f"no cassette {cassette.name}: record it with AUTOCODER_LIVE=1 and {key} set"
            )
        # the cassette answers; the real key was scrubbed
        monkeypatch.setenv(key, "replayed-no-key-needed")
    provider = resolve(model)
    decision = provider.complete(ASK, [Finish], Settings(max_tokens=200))
    assert provider.tool_mode == "native" and decision.action == "finish" and not decision.error
