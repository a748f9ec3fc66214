"""The embedder's precision: fast where the hardware computes it, fp32 where it would only be emulated."""

from __future__ import annotations

import numpy as np
import pytest

from shared.embedder import SentenceTransformerEmbedder, cpu_has_native_bf16, pick_precision
from shared.settings import EmbedSettings, Settings

ABSTRACTS = [
    "Attention Is All You Need. We propose the Transformer, a model architecture based solely on attention.",
    "We find that continued pretraining on in-domain text improves encoder models on biomedical tasks, "
    "but the gains shrink as the general model grows.",
    "Short text.",
]


def test_native_bf16_is_read_from_the_cpu_flags():
    assert cpu_has_native_bf16("flags : fpu avx2 avx512f avx512_bf16 avx512_vnni")
    assert cpu_has_native_bf16("flags : fpu avx2 amx_bf16 amx_tile")
    assert not cpu_has_native_bf16("flags : fpu avx2 avx512f avx512_vnni")


def test_auto_precision_is_fp16_on_cuda_bf16_on_a_cpu_with_native_bf16_and_fp32_otherwise():
    assert pick_precision("auto", "cuda") == "fp16"
    assert pick_precision("auto", "cpu", native_bf16=True) == "bf16"
    assert pick_precision("auto", "cpu", native_bf16=False) == "fp32"
    assert pick_precision("fp32", "cuda") == "fp32"  # a setting is obeyed
    assert pick_precision("bf16", "cpu", native_bf16=False) == "bf16"


def test_an_unknown_precision_is_refused_naming_the_choices(monkeypatch):
    monkeypatch.setenv("QUESTLOG_EMBED__PRECISION", "int4")
    with pytest.raises(Exception, match="auto"):
        Settings()


def test_a_bf16_encode_stays_within_cosine_0_999_of_fp32_and_is_unit_length():
    fp32 = SentenceTransformerEmbedder(EmbedSettings().models[0], EmbedSettings(precision="fp32"))
    bf16 = SentenceTransformerEmbedder(EmbedSettings().models[0], EmbedSettings(precision="bf16"))
    a, b = fp32.encode(ABSTRACTS), bf16.encode(ABSTRACTS)
    assert fp32.precision == "fp32" and bf16.precision == "bf16"
    assert b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.999
