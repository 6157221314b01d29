"""Many replies at once: parallel sequences over shared KV prefixes (llama.cpp).

A fresh start asks the same plain chat turn (or two shapes of it) for many candidates that differ
only in their seed. Asked one by one, each reply decodes a single token per forward pass; here each
distinct prompt is evaluated once, its KV cells are shared by every sequence asking it
(`llama_memory_seq_cp` on a unified cache), and each forward pass decodes one token of every
sequence still writing: more tokens per second than one reply at a time, and a sequence's reply
is the same in a round of 8, 16 or 32 asking one prompt (figures: docs/measurements.md; beside a
second, longer prompt it can differ, the cache's layout changing the sums, and is still a sample
of its seed). Starting the next reply in a sequence as soon as one ends was tried and was slower
than rounds of 16. A sequence ends at its stop string, the end of its turn, a loop, or its token
cap, as a single reply would. Sampling follows llama.cpp's default chain (top-k 40, top-p 0.95,
min-p 0.05 on the untempered distribution, then the temperature), each sequence with its own
seeded generator.
"""

from __future__ import annotations

import ctypes
import time
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..goal.ending import over

TOP_K, TOP_P, MIN_P = 40, 0.95, 0.05  # llama-cpp-python's create_completion defaults
MAX_SEQUENCES = 16  # sequences decoded together (more buys little on a few cores)
# KV cells shared by the sequences of one round (about 420 MB for 135M): a full round of 1024-token
# replies beside 2048 cells of prompts (at 16384, the sixteenth of such a round was decoded alone
# after the other fifteen, taking as long again). A round that would not fit (a long prompt, a
# bigger reply cap) is asked one reply at a time instead
CONTEXT = MAX_SEQUENCES * 1024 + 2048


@dataclass(frozen=True)
class Reply:
    text: str
    tokens: int  # completion tokens
    finish: str  # "stop", "length", or "time" (stopped at `until`)


# A reply completing a function (Settings.function) that repeats one span of COUNTING tokens but
# for its numbers (`i % 83 == 0 and i % 84 == 0 and ...`, `[1, 2, 3, 4, ...`) is looping too.
# Read back on HumanEval-164's candidates, it stopped 75 replies 12,245 tokens earlier (4,546 of
# them greedy replies decoded alone, 7 of the 11 that ran to 1,024 tokens), none of them answering
# every example of its goal. Not for other replies: a program's data (a melody's notes) may count.
COUNTING = 120
_NUMERALS: weakref.WeakKeyDictionary[Any, frozenset[int]] = weakref.WeakKeyDictionary()


def numerals(llm: Any) -> frozenset[int]:
    """The tokens of a model's vocabulary that are digits only (found once per model)."""
    if llm not in _NUMERALS:
        pieces = (llm.detokenize([t]) for t in range(llm.n_vocab()))
        _NUMERALS[llm] = frozenset(t for t, p in enumerate(pieces) if p.isdigit())
    return _NUMERALS[llm]


def counting(out: list[int], digits: frozenset[int]) -> bool:
    """Whether the tail of `out` loops (`looping`, spans of COUNTING) once each run of `digits`
    is read as one token."""
    if len(out) < COUNTING:
        return False
    tail = out[-4 * COUNTING :]
    read = [
        -1 if t in digits else t
        for k, t in enumerate(tail)
        if not (t in digits and k and tail[k - 1] in digits)
    ]
    return looping(read, min_span=COUNTING)


def looping(out: list[int], max_period: int = 40, min_span: int = 60) -> bool:
    """Whether the tail of `out` repeats one span over and over: a small model's usual failure."""
    for period in range(1, max_period + 1):
        span = max(4 * period, min_span)
        if len(out) < span:
            return False
        tail = out[-span:]
        if all(tail[i] == tail[i - period] for i in range(period, span)):
            return True
    return False


def written_over(llm: Any, written: list[int], function: tuple[str, ...]) -> bool:
    """Whether a reply of the tokens `written` (its newest last), decoded alone, is over where
    it completes `function` (Settings.function; `_over`)."""
    piece = llm.detokenize(written[-1:])  # the whole reply is read only when a line ends
    return b"\n" in piece and _over(llm.detokenize(written), piece, function) is not None


def _over(text: bytes, piece: bytes, function: tuple[str, ...]) -> int | None:
    """goal.ending.over of `text` up to its last whole line, when `piece` (its end) finished a
    line: where the reply written so far is over, if it is; else None."""
    if not function or b"\n" not in piece:
        return None
    whole = text[: text.rfind(b"\n") + 1].decode("utf-8", errors="replace")
    return over(whole, function[0], function[1:])


def pick(logits: np.ndarray, rng: np.random.Generator, temperature: float) -> int:
    """One token by llama.cpp's default chain; the most likely one at temperature 0."""
    if temperature <= 0:
        return int(np.argmax(logits))
    top = np.argpartition(logits, -TOP_K)[-TOP_K:]
    values = logits[top].astype(np.float64)
    order = np.argsort(-values)
    top, values = top[order], values[order]
    p = np.exp(values - values[0])
    p /= p.sum()
    keep = min(len(p), int(np.searchsorted(np.cumsum(p), TOP_P)) + 1)
    keep = max(1, min(keep, int(np.count_nonzero(p >= MIN_P * p[0]))))
    scaled = np.exp((values[:keep] - values[0]) / temperature)
    return int(rng.choice(top[:keep], p=scaled / scaled.sum()))


class Batcher:
    """A second llama.cpp context over a loaded model's weights, for parallel sequences."""

    def __init__(self, llm: Any, threads: int) -> None:
        import llama_cpp as lib
        from llama_cpp._utils import suppress_stdout_stderr

        self.lib, self.llm = lib, llm
        params = lib.llama_context_default_params()
        params.n_ctx = CONTEXT
        params.n_batch = params.n_ubatch = 512
        params.n_seq_max = MAX_SEQUENCES
        params.kv_unified = True  # the prompt's cells are shared, not copied
        params.n_threads = params.n_threads_batch = threads
        # llama.cpp warns that the shared cells exceed one sequence's trained context: each
        # sequence stays within it (prompt plus its reply), the cells are only shared
        with suppress_stdout_stderr(disable=False):
            self.ctx = lib.llama_init_from_model(llm._model.model, params)
        if self.ctx is None:
            raise MemoryError("llama.cpp could not make a context for parallel sequences")
        self.memory = lib.llama_get_memory(self.ctx)
        self.vocab = lib.llama_model_get_vocab(llm._model.model)
        self.n_vocab = llm.n_vocab()
        self.batch = lib.llama_batch_init(512, 0, MAX_SEQUENCES)

    def close(self) -> None:
        if self.ctx is not None:
            self.lib.llama_batch_free(self.batch)
            self.lib.llama_free(self.ctx)
            self.ctx = None

    def fits(self, prompts: int, max_tokens: int) -> int:
        """How many sequences of `max_tokens` fit beside prompts of `prompts` tokens in all."""
        return max(0, min(MAX_SEQUENCES, (CONTEXT - prompts) // max(max_tokens, 1)))

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        b = self.batch
        b.n_tokens = len(items)
        for i, (token, pos, seq, logits) in enumerate(items):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
            b.seq_id[i][0] = seq
        if self.lib.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("llama.cpp failed to decode a batch")

    def _logits(self, i: int) -> np.ndarray:
        row = self.lib.llama_get_logits_ith(self.ctx, i)
        return np.ctypeslib.as_array(
            ctypes.cast(row, ctypes.POINTER(ctypes.c_float)), (self.n_vocab,)
        )

    def sample(
        self,
        prompts: list[tuple[int, ...]],
        temperatures: list[float],
        seeds: list[int],
        max_tokens: int,
        stop: tuple[str, ...],
        until: float = 0.0,
        function: tuple[str, ...] = (),
    ) -> tuple[list[Reply], float]:
        """One reply per (prompt, temperature, seed), decoded together; and the seconds it took.
        Sequences asking the same prompt share its one evaluation. At `until` (time.monotonic();
        0: never) those still decoding stop, finished by "time"; given `function` (Settings), a
        reply also ends where goal.ending.over says it is over."""
        start = time.monotonic()
        n = len(seeds)
        owner = {p: s for s, p in reversed(list(enumerate(prompts)))}  # each prompt's first asker
        cells = sum(len(p) for p in owner)
        assert 0 < n <= self.fits(cells, max_tokens), "too many sequences for one round"
        self.lib.llama_memory_clear(self.memory, True)
        first: dict[int, np.ndarray] = {}
        for prompt, seq in owner.items():  # each prompt once, in its first asker's sequence
            for at in range(0, len(prompt), 512):
                chunk = prompt[at : at + 512]
                last = at + len(chunk) == len(prompt)
                self._decode(
                    [(t, at + i, seq, last and i == len(chunk) - 1) for i, t in enumerate(chunk)]
                )
            first[seq] = self._logits(-1).copy()
        owners = [owner[p] for p in prompts]
        for seq, held in enumerate(owners):
            if seq != held:
                self.lib.llama_memory_seq_cp(self.memory, held, seq, -1, -1)
        rngs = [np.random.default_rng(seed % (1 << 64)) for seed in seeds]  # any seed, as llama.cpp
        out = [[pick(first[owners[s]], rngs[s], temperatures[s])] for s in range(n)]
        text = [b"" for _ in range(n)]
        finish = ["length"] * n
        ends = (stop, function)
        alive = [s for s in range(n) if not self._ended(s, out, text, finish, ends, max_tokens)]
        while alive:
            if until and time.monotonic() >= until:
                for s in alive:
                    finish[s] = "time"
                break
            self._decode([(out[s][-1], len(prompts[s]) + len(out[s]) - 1, s, True) for s in alive])
            still = []
            for i, s in enumerate(alive):
                out[s].append(pick(self._logits(i), rngs[s], temperatures[s]))
                if not self._ended(s, out, text, finish, ends, max_tokens):
                    still.append(s)
            alive = still
        replies = [
            Reply(text[s].decode("utf-8", errors="replace"), len(out[s]), finish[s])
            for s in range(n)
        ]
        return replies, time.monotonic() - start

    def _ended(
        self,
        s: int,
        out: list[list[int]],
        text: list[bytes],
        finish: list[str],
        ends: tuple[tuple[str, ...], tuple[str, ...]],
        max_tokens: int,
    ) -> bool:
        """Take sequence s's newest token; True when the sequence is over (`ends`: the stop
        strings and the function, as `sample` takes them)."""
        token = out[s][-1]
        if self.lib.llama_vocab_is_eog(self.vocab, token):
            out[s].pop()
            finish[s] = "stop"
            return True
        piece = self.llm.detokenize([token])
        text[s] += piece
        stop, function = ends
        if any(word.encode() in text[s][-256:] for word in stop):
            decoded = text[s].decode("utf-8", errors="replace")
            cuts = [at for word in stop if (at := decoded.find(word)) >= 0]
            text[s] = decoded[: min(cuts)].encode("utf-8")
            finish[s] = "stop"
            return True
        at = _over(text[s], piece, function)
        if at is not None:
            text[s] = text[s].decode("utf-8", errors="replace")[:at].encode("utf-8")
            finish[s] = "stop"
            return True
        numbered = function and len(out[s]) >= COUNTING  # numerals() only when it can matter
        if looping(out[s]) or (numbered and counting(out[s], numerals(self.llm))):
            finish[s] = "stop"
            return True
        return len(out[s]) >= max_tokens
