"""A GGUF model in process through llama-cpp-python, with grammar-constrained replies."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import places
from ..actions import Action
from ..actions.textformat import grammar
from ..exceptions import AutocoderError, ModelFailed
from ..state import Decision, Store, Usage
from .base import Message, Settings, trim
from .batch import COUNTING, Batcher, counting, looping, numerals, written_over
from .gguf import DEFAULT_CONTEXT, file_sha256, load, runnable, runs_as, trained_context
from .modes import MODES, Codec, cut, from_text, late

# The loaded models whose main context holds an action call's prompt: the judging and repair
# steps share a long beginning (the instructions and the worked examples, over 1,000 tokens). A
# plain chat turn (the greedy candidate of each fresh start) would evict it, and a bench worker's
# next judging step evaluated it all again (8.9 s on one thread, 2.0 s with it kept; 12-15 s
# in a bench of two workers): the plain turn runs, then the context's state from before it is
# put back (gguf.load shares a loaded model within a process).
_HOLDS_ACTIONS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class RepetitionGuard:
    """Stops a reply caught in a loop (the same span over and over): a small model's usual
    failure; given `until` (time.monotonic(), Settings.until), a reply still being written at the
    run's time limit (`late`); and, for a reply completing a function (Settings.function), one
    counting on or over: each as a round decoded together stops there (batch.Batcher._ended)."""

    def __init__(
        self,
        until: float = 0.0,
        digits: Callable[[], frozenset[int]] | None = None,
        ended: Callable[[list[int]], bool] | None = None,
    ) -> None:
        self.start: int | None = None  # prompt length: what input_ids holds at the first call
        self.tripped = False
        self.until, self.late = until, False
        self.digits = digits  # given, a span repeated but for its numbers loops too (counting)
        self.ended = ended  # given, the reply also stops once ended(written) (batch.written_over)

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        if self.start is None:
            self.start = len(input_ids)
        self.late = bool(self.until) and time.monotonic() >= self.until
        written = list(input_ids[self.start :])
        numbered = self.digits is not None and len(written) >= COUNTING
        self.tripped = looping(written) or (numbered and counting(written, self.digits()))
        return self.tripped or self.late or bool(self.ended and self.ended(written))


class LlamaCppProvider:
    """Runs a local GGUF; replies are constrained to the text action format so they always parse."""

    codec: Codec = MODES["grammar"]
    tool_mode = codec.name
    secrets: tuple[str, ...] = ()  # a file on this machine: no key
    parallel = True  # complete_many decodes warm plain turns together

    def __init__(
        self,
        path: str | Path,
        n_ctx: int | None = None,
        name: str | None = None,
        store: Store | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AutocoderError(f"GGUF file not found: {self.path}")
        self.store = store  # the response cache: remembers the file's sha256 and trained context
        self.n_ctx = n_ctx or min(self._trained_context(), DEFAULT_CONTEXT)
        self.name = name or self.path.name
        self.threads = threads  # None: every core (the bench gives each worker its share)

    def _trained_context(self) -> int:
        return int(self._known("context", trained_context))

    @functools.cached_property
    def _runs_as(self) -> str:
        return str(self._known("runs_as", runs_as))

    def _known(self, what: str, read: Callable[[str], int | str]) -> int | str:
        """A fact of the GGUF's metadata, remembered in the store: reading it loads the
        vocabulary (half a second), and a rerun answered by the cache need not."""
        if self.store is None:
            return read(str(self.path))
        key = f"{what}:{self.identity_sha256}"
        if not isinstance(known := self.store.get(key), int | str):
            known = read(str(self.path))
            self.store.set(key, known)
        return known

    @functools.cached_property
    def identity_sha256(self) -> str:
        return file_sha256(self.path, self.store)

    @functools.cached_property
    def llm(self) -> Any:
        """Loaded on first use: a rerun answered wholly by the response cache never loads it.
        Weights of a type without fast CPU kernels are run as Q8_0 (gguf.runnable)."""
        return load(str(self._runnable()), self.n_ctx, self.threads)

    def _runnable(self) -> Path:
        folder = places.cache_dir()
        if not self._runs_as or places.problem(folder):  # as stored (and no folder of ours)
            return self.path
        return runnable(self.path, self.identity_sha256, folder / "models")

    @property
    def identity(self) -> dict[str, Any]:
        """The weights' sha256 (not the path): the same model file anywhere shares cached
        replies; and the type they run as, when converted (its replies differ)."""
        found = {"kind": "llama_cpp", "sha256": self.identity_sha256, "n_ctx": self.n_ctx}
        if self._runs_as:
            found["runs_as"] = self._runs_as
        return found

    @functools.cached_property
    def _formatter(self) -> Any:
        """The GGUF's own chat template (never a format that HTML-escapes messages)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise AutocoderError(f"{self.path.name} has no chat template in its metadata")
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        text = self.llm._model.token_get_text
        return Jinja2ChatFormatter(
            template,
            text(eos) if eos != -1 else "",
            text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    @functools.cached_property
    def batcher(self) -> Batcher:
        """Parallel sequences over the loaded weights (made on first use of complete_many)."""
        batcher = Batcher(self.llm, self.threads or os.cpu_count() or 1)
        atexit.register(batcher.close)
        return batcher

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The tokens the model sees for `messages`, rendered by the GGUF's chat template."""
        rendered = self._formatter(messages=messages)
        return self.llm.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )

    def complete(
        self, messages: list[Message], actions: list[type[Action]], settings: Settings
    ) -> Decision:
        from llama_cpp import StoppingCriteriaList

        start = time.monotonic()
        messages = trim(
            messages, lambda m: len(self.prompt_tokens(m)), self.n_ctx - settings.max_tokens
        )
        tokens = self.prompt_tokens(messages)
        # the reply begun for the model; a trailing indent is the grammar's
        begun = settings.prefix.rstrip(" \t")
        if begun:  # the model continues it (a completion): see textformat's continuation grammar
            tokens += self.llm.tokenize(begun.encode("utf-8"), add_bos=False, special=False)
        # what llama.cpp keeps
        reused = self.llm.longest_token_prefix(self.llm._input_ids.tolist(), tokens)
        function = settings.function  # a reply completing it: counting loops, and where it ends
        guard = RepetitionGuard(
            settings.until,
            (lambda: numerals(self.llm)) if function else None,
            (lambda written: written_over(self.llm, written, function)) if function else None,
        )
        kept = self.llm.save_state() if not actions and _HOLDS_ACTIONS.get(self.llm) else None
        try:
            out = self.llm.create_completion(
                prompt=tokens,
                grammar=_grammar(grammar(actions, settings.prefix)) if actions else None,
                max_tokens=settings.max_tokens,
                temperature=settings.temperature,
                seed=settings.seed,
                stop=list(settings.stop) or None,
                stopping_criteria=StoppingCriteriaList([guard]),
            )
        except ValueError as exc:  # llama.cpp says so when the prompt exceeds the context
            raise ModelFailed(f"local model failed: {exc}") from exc
        finally:
            if kept is not None:  # the action prompt back, for the next judging or repair step
                self.llm.load_state(kept)
            _HOLDS_ACTIONS[self.llm] = bool(actions) or kept is not None
        seconds = time.monotonic() - start
        choice = out["choices"][0]
        text = begun + (choice.get("text") or "")
        evaluated = max(len(tokens) - reused, 1)
        usage = Usage(out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"], evaluated)
        if not actions:  # a plain chat turn: the text is the reply
            cut_short = guard.late or choice.get("finish_reason") == "length"
            return Decision(raw=text, usage=usage, seconds=seconds, cut=cut_short, late=guard.late)
        if guard.late:
            return late(text, usage, seconds)
        if guard.tripped:
            error = "the reply kept repeating itself and was stopped"
            return Decision(raw=text, error=error, usage=usage, seconds=seconds, cut=True)
        if choice.get("finish_reason") == "length":
            return replace(cut(text, usage, settings.max_tokens), seconds=seconds)
        decision = from_text(text, actions)
        return replace(decision, usage=usage, seconds=seconds)

    def complete_many(
        self, asks: list[tuple[list[Message], Settings]], actions: list[type[Action]]
    ) -> list[Decision]:
        """`complete` for each (messages, settings); plain chat turns sampled warm (no actions, no
        begun reply, temperature above 0) are decoded together, each distinct prompt evaluated
        once. Those that do not fit the parallel context (long prompts, a big reply cap) are
        asked one by one."""
        warm = [
            i for i, (_, s) in enumerate(asks) if not actions and not s.prefix and s.temperature > 0
        ]
        out: dict[int, Decision] = {}
        batcher = None
        with contextlib.suppress(MemoryError):  # no room for the parallel context: one by one
            batcher = self.batcher if warm else None
        while warm and batcher is not None:
            first = asks[warm[0]][1]
            budget = min(first.max_tokens, self.n_ctx)
            same = [
                i
                for i in warm
                if (asks[i][1].max_tokens, asks[i][1].stop, asks[i][1].function)
                == (first.max_tokens, first.stop, first.function)
            ]
            rendered: dict[int, tuple[int, ...]] = {}  # each prompt rendered once, by id(messages)
            for i in same:
                if id(asks[i][0]) not in rendered:
                    rendered[id(asks[i][0])] = self._prompt(asks[i][0], budget)
            tokens = {i: rendered[id(asks[i][0])] for i in same}
            rnd: list[int] = []
            held: set[tuple[int, ...]] = set()  # the round's prompts: each one's cells once
            for i in same:
                if len(rnd) + 1 > batcher.fits(sum(map(len, held | {tokens[i]})), budget):
                    break
                rnd.append(i)
                held.add(tokens[i])
            if not rnd:
                break
            replies, seconds = batcher.sample(
                [tokens[i] for i in rnd],
                [asks[i][1].temperature for i in rnd],
                [asks[i][1].seed for i in rnd],
                budget,
                first.stop,
                first.until,
                first.function,
            )
            evaluated: set[tuple[int, ...]] = set()
            for i, reply in zip(rnd, replies, strict=True):
                prompt = tokens[i]  # the first asking a prompt counts its evaluation
                usage = Usage(len(prompt), reply.tokens, 1 if prompt in evaluated else len(prompt))
                evaluated.add(prompt)
                out[i] = Decision(
                    raw=reply.text,
                    usage=usage,
                    seconds=seconds / len(rnd),
                    cut=reply.finish in ("length", "time"),
                    late=reply.finish == "time",
                )
            warm = [i for i in warm if i not in rnd]
        for i, (messages, s) in enumerate(asks):
            if i not in out:
                out[i] = self.complete(messages, actions, s)
        return [out[i] for i in range(len(asks))]

    def _prompt(self, messages: list[Message], budget: int) -> tuple[int, ...]:
        """The tokens of `messages`, trimmed to leave `budget` for the reply."""
        return tuple(
            self.prompt_tokens(
                trim(messages, lambda m: len(self.prompt_tokens(m)), self.n_ctx - budget)
            )
        )
