"""Recorded model traffic, in two layers.

- HTTP (tests): pytest-recording/vcrpy cassettes of the real requests litellm sends to an
  OpenAI-compatible endpoint (llama-cpp-python's server running the embedded model, or a paid API).
  `vcr_config()` is their configuration: secrets scrubbed before anything is saved, no timestamps or
  ports, requests matched on method, path and canonical JSON body.
- Provider boundary (bench): `CassetteProvider` records every `complete()` call of any provider
  (in-process GGUF, litellm, ...) with its decision, and replays them with no model, key or
  network. A request is matched on the sha256 of its canonical JSON (messages, offered actions'
  schemas, sampling settings), so a changed prompt never replays an old answer: it fails, naming
  the cassette.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..actions import Action, tool_schema
from ..exceptions import AutocoderError
from ..scrub import SCRUBBED, Scrubber
from ..state import Decision
from .base import Message, Settings, Wrapper, complete_many
from .modes import MODES

SECRET_HEADERS = (
    "authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "anthropic-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
    "proxy-authorization",
)
SECRET_PARAMS = ("key", "api_key", "apikey", "api-key", "access_token", "token", "sig", "signature")
# the rest is client noise or secret
KEPT_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "anthropic-version",
)
VOLATILE_HEADERS = (
    "date",
    "x-request-id",
    "request-id",
    "openai-processing-ms",
    "cf-ray",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "server",
)
RERECORD = "python -m pytest tests/providers/test_server.py --record-mode=rewrite"


# ---- HTTP layer: vcrpy hooks -------------------------------------------------------------------
def before_record_request(request: Any, scrub: Scrubber) -> Any:
    """Keep only content headers (no secret, host or client version), replace key query parameters,
    scrub secrets from the URL and body, and pin a
    local endpoint's random port so that re-recording does not churn the cassettes."""
    for name in list(request.headers):
        if name.lower() not in KEPT_REQUEST_HEADERS:  # secrets, host:port, client versions
            del request.headers[name]
    parts = urllib.parse.urlsplit(request.uri)
    query = [
        (k, SCRUBBED if k.lower() in SECRET_PARAMS else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    netloc = parts.netloc
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        netloc = "127.0.0.1:8000"
    request.uri = scrub.text(
        urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=urllib.parse.urlencode(query)))
    )
    request.body = scrub.body(request.body)
    return request


def before_record_response(response: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    """Drop secret and volatile headers; zero the body's timestamps and ids; scrub secrets."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS or name.lower() in VOLATILE_HEADERS:
            del headers[name]
    body = response.get("body", {})
    raw = body.get("string")
    if isinstance(raw, (bytes, str)):
        text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key, value in (("created", 0), ("id", "recorded"), ("system_fingerprint", None)):
                if key in data:
                    data[key] = value
            text = json.dumps(data, separators=(",", ":"))
        text = scrub.text(text)
        body["string"] = text.encode("utf-8", "surrogateescape") if isinstance(raw, bytes) else text
        if "content-length" in {h.lower() for h in headers}:
            for h in list(headers):
                if h.lower() == "content-length":
                    headers[h] = [str(len(body["string"]))]
    return response


def canonical(body: Any) -> str:
    """A body as canonical JSON (sorted keys, no spacing) when it is JSON, else its text."""
    if body is None:
        return ""
    text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else str(body)
    try:
        return json.dumps(
            json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except ValueError:
        return text


def canonical_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: equal bodies up to JSON key order and spacing."""
    if canonical(r1.body) != canonical(r2.body):
        raise AssertionError("the request body differs from the recorded one")


def vcr_config(scrub: Scrubber | None = None) -> dict[str, Any]:
    """What pytest-recording passes to vcrpy for the HTTP cassettes; `scrub` is the recording's."""
    scrub = scrub or Scrubber()
    return {
        "match_on": ["method", "path", "canonical_body"],
        "before_record_request": functools.partial(before_record_request, scrub=scrub),
        "before_record_response": functools.partial(before_record_response, scrub=scrub),
        "decode_compressed_response": True,
    }


# ---- provider boundary: bench cassettes --------------------------------------------------------
def request_digest(messages: list[Message], actions: list[type[Action]], settings: Settings) -> str:
    request = {
        "messages": messages,
        "actions": [tool_schema(a) for a in actions],
        "settings": settings.key(),
    }
    canonical_json = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical_json.encode("utf-8")).hexdigest()


class CassetteProvider(Wrapper):
    """Records (inner given) or replays (inner None) every model call at the provider boundary.
    Equal requests are answered in the order they were recorded. Whether the recorded provider
    decoded rounds together (`parallel`) is recorded too, so a replay asks in the same rounds."""

    def __init__(
        self, inner: Any | None, path: Path, record: bool, secrets: Iterable[str | None] = ()
    ) -> None:
        super().__init__(inner)
        self.path, self.recording = path, record
        # the recorder owns what it scrubs: the keys it is given and those its provider holds
        self.scrub = Scrubber((*secrets, *(inner.secrets if inner is not None else ())))
        if record:
            self.interactions: list[dict[str, Any]] = []
            return
        self.data = self._load(path)
        self.queue: dict[str, deque[Decision]] = defaultdict(deque)
        for item in self.data["interactions"]:
            self.queue[item["request"]].append(item["decision"])

    # what it writes is scrubbed: it passes on no key
    secrets = property(lambda self: ())
    name = property(lambda self: self.inner.name if self.recording else self.data["model"])
    identity = property(
        lambda self: self.inner.identity if self.recording else self.data["identity"]
    )
    codec = property(
        lambda self: self.inner.codec if self.recording else MODES[self.data["tool_mode"]]
    )
    tool_mode = property(lambda self: self.codec.name)

    @property
    def parallel(self) -> bool:
        # a cassette recorded before this was kept was asked one candidate at a time
        return super().parallel if self.recording else self.data.get("parallel") is True

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        if not path.is_file():
            raise AutocoderError(
                f"no cassette at {path}: record one with --cassette {path} --record"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != "autocoder-cassette/1":
                raise ValueError("not an autocoder bench cassette")
            for key in ("model", "tool_mode"):
                if not isinstance(data.get(key), str):
                    raise ValueError(f"{key!r} missing or not text")
            if data["tool_mode"] not in MODES:
                raise ValueError(f"unknown tool mode {data['tool_mode']!r}")
            if not isinstance(data.setdefault("identity", {}), dict):
                raise ValueError("'identity' is not an object")
            items = data.get("interactions")
            if not isinstance(items, list):
                raise ValueError("'interactions' missing or not a list")
            for n, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("request"), str):
                    raise ValueError(f"interaction {n} has no request digest")
                item["decision"] = Decision.from_json(item.get("decision"))
            return data
        except (ValueError, OSError) as exc:
            why = str(exc).splitlines()[0]
            raise AutocoderError(
                f"{path} is not a bench cassette ({why}): record one with --record"
            ) from None

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        if not self.recording:
            return self._replay(request_digest(messages, actions, settings))
        decision = self.inner.complete(messages, actions, settings)
        self._record(messages, actions, settings, decision)
        return decision

    def complete_many(
        self, asks: list[tuple[list[Message], Settings]], actions: list[type[Action]]
    ) -> list[Decision]:
        """A round as the recorded provider took it: together where it decoded together."""
        if not self.parallel:
            return super().complete_many(asks, actions)
        if not self.recording:
            return [self._replay(request_digest(m, actions, s)) for m, s in asks]
        decisions = complete_many(self.inner, asks, actions)
        for (messages, settings), decision in zip(asks, decisions, strict=True):
            self._record(messages, actions, settings, decision)
        return decisions

    def _replay(self, digest: str) -> Decision:
        if not self.queue.get(digest):
            raise AutocoderError(
                f"{self.path} has no recorded answer for this request (the prompt, actions or "
                "settings changed since it was recorded): re-record it with "
                f"--cassette {self.path} --record"
            )
        recorded = self.queue[digest].popleft()
        return dataclasses.replace(recorded, seconds=0.0)  # no model ran: this run's timing

    def _record(
        self,
        messages: list[Message],
        actions: list[type[Action]],
        settings: Settings,
        decision: Decision,
    ) -> None:
        last = messages[-1]["content"] if messages else ""
        self.interactions.append(
            {
                "request": request_digest(messages, actions, settings),
                "ask": self.scrub.text(last[:160]),
                "decision": json.loads(self.scrub.text(json.dumps(decision.to_json()))),
            }
        )
        self.save()

    def save(self) -> None:
        """Written after every call, so an interrupted recording keeps what it has."""
        data = {
            "format": "autocoder-cassette/1",
            "model": self.name,
            "tool_mode": self.codec.name,
            "identity": self.identity,
            "parallel": self.parallel,
            "interactions": self.interactions,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(
            self.scrub.text(json.dumps(data, indent=1, ensure_ascii=False)) + "\n", encoding="utf-8"
        )
        tmp.replace(self.path)
