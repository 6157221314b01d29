"""A response cache in front of any provider (diskcache: SQLite, safe across processes).

Key: a SHA-256 of the canonical JSON of the provider's identity (for a GGUF its file's sha256),
the tool mode, the messages, the offered actions' schemas and the sampling settings. Value: the
Decision as JSON, never a pickle. No API key is part of either. Only replies the model completed
are stored: a call that failed (fault, timeout, dropped connection, Ctrl-C) stores nothing. A reply
cut by the token cap is stored as the malformed reply it is: asking again gives the same cut.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

from ..actions import Action, tool_schema
from ..exceptions import AutocoderError
from ..places import cache_dir, refuse
from ..state import Decision, Store
from .base import Message, Provider, Settings, Wrapper, complete_many

VERSION = 1  # bump when the stored shape of a Decision changes


def open_cache(path: Path | None = None) -> Any:
    """The cache; a folder it makes, only its owner can read; a damaged one is one clear line."""
    import sqlite3

    import diskcache

    path = usable_dir(path or cache_dir())
    try:
        if not path.exists():
            path.mkdir(parents=True, mode=0o700)
            # the mode mkdir takes passes through the umask; ours is made private whatever it is
            os.chmod(path, 0o700)
        return diskcache.Cache(str(path), disk=diskcache.JSONDisk, disk_compress_level=1)
    except (sqlite3.Error, OSError) as exc:
        raise AutocoderError(
            f"the response cache at {path} cannot be used ({exc}): run `autocoder cache clear` "
            "to start it afresh, or pass --no-cache"
        ) from None


def usable_dir(path: Path) -> Path:
    """`path`, unless it is a system folder, the home folder or above it (AUTOCODER_CACHE_DIR=~
    would fill the home folder with the cache's files, and `cache clear` would empty it), or not a
    folder. An existing folder keeps its mode: it may be shared on purpose."""
    refuse(path, "the response cache folder")
    if path.exists() and not path.is_dir():
        raise AutocoderError(
            f"the response cache folder {path} is not a folder: set AUTOCODER_CACHE_DIR to one"
        )
    return path


def request_key(
    identity: dict[str, Any],
    messages: list[Message],
    actions: list[type[Action]],
    settings: Settings,
) -> str:
    request = {
        "v": VERSION,
        "provider": identity,
        "messages": messages,
        "actions": [tool_schema(a) for a in actions],
        "settings": settings.key(),
    }
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "reply:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CachedProvider(Wrapper):
    """Wraps a provider: an identical request is answered from disk, marked `cached`."""

    def __init__(self, inner: Provider, store: Store | None = None) -> None:
        super().__init__(inner)
        self.store = store if store is not None else open_cache()

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        key = request_key(self.identity, messages, actions, settings)
        if (stored := self._lookup(key)) is not None:
            return stored
        decision = self.inner.complete(messages, actions, settings)
        self._keep(key, decision)
        return decision

    def complete_many(
        self, asks: list[tuple[list[Message], Settings]], actions: list[type[Action]]
    ) -> list[Decision]:
        """Each request answered from disk when it was asked before; the rest asked of the inner
        provider together (see base.complete_many), each stored under its own key."""
        keys = [request_key(self.identity, m, actions, s) for m, s in asks]
        found = {i: d for i, key in enumerate(keys) if (d := self._lookup(key)) is not None}
        missing = [i for i in range(len(asks)) if i not in found]
        asked = complete_many(self.inner, [asks[i] for i in missing], actions)
        for i, decision in zip(missing, asked, strict=True):
            self._keep(keys[i], decision)
            found[i] = decision
        return [found[i] for i in range(len(asks))]

    def _keep(self, key: str, decision: Decision) -> None:
        """Store a reply, unless the run's time limit cut it (another run, with time, would
        have had it whole)."""
        if not decision.late:
            self.store.set(key, decision.to_json())

    def _lookup(self, key: str) -> Decision | None:
        start = time.monotonic()
        try:
            stored = self.store.get(key)
            if stored is not None:
                return dataclasses.replace(
                    Decision.from_json(stored), cached=1, seconds=time.monotonic() - start
                )
        # a corrupt entry is a miss
        except (TypeError, ValueError, KeyError, AttributeError, zlib.error):
            self.store.delete(key)
        return None


def stats(path: Path | None = None) -> dict[str, Any]:
    cache = open_cache(path)
    with cache:
        replies = sum(1 for k in cache.iterkeys() if isinstance(k, str) and k.startswith("reply:"))
        return {
            "directory": str(cache.directory),
            "replies": replies,
            "entries": len(cache),
            "bytes": cache.volume(),
        }


def clear(path: Path | None = None) -> int:
    """Empty the cache; a damaged one is removed file by file (only diskcache's own files)."""
    path = usable_dir(path or cache_dir())
    try:
        cache = open_cache(path)
        with cache:
            return cache.clear()
    except AutocoderError:
        pass
    removed = 0
    for item in path.iterdir():
        if item.is_symlink():
            continue
        if item.is_file() and item.name.startswith("cache.db"):
            item.unlink()
            removed += 1
        elif (
            item.is_dir()
            and len(item.name) == 2
            and all(c in "0123456789abcdef" for c in item.name)
        ):
            shutil.rmtree(item)  # diskcache's folders of large values
            removed += 1
    return removed
