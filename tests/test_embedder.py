"""The embedder's precision: fast where the hardware computes it, fp32 where it would only be emulated."""

from __future__ import annotations

import numpy as np
import pytest

from shared.embedder import SentenceTransformerEmbedder, cpu_has_native_bf16, pick_precision
from shared.errors import PermanentError
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


def test_auto_precision_is_fp16_on_cuda_bf16_with_amx_int8_with_onnx_runtime_else_bf16_where_native_else_fp32():
    amx, avx512_bf16 = frozenset({"avx2", "amx_bf16", "amx_tile"}), frozenset({"avx2", "avx512_bf16", "avx512_vnni"})
    avx2 = frozenset({"avx2"})
    assert pick_precision("auto", "cuda") == "fp16"
    assert pick_precision("auto", "cpu", flags=amx, int8_ok=True) == "bf16"
    assert pick_precision("auto", "cpu", flags=avx512_bf16, int8_ok=True) == "int8"
    assert pick_precision("auto", "cpu", flags=avx512_bf16, int8_ok=False) == "bf16"
    assert pick_precision("auto", "cpu", flags=avx2, int8_ok=True) == "int8"
    assert pick_precision("auto", "cpu", flags=avx2, int8_ok=False) == "fp32"
    assert pick_precision("auto", "cpu", flags=avx2) == "int8"  # onnxruntime is a dependency of embed
    assert pick_precision("fp32", "cuda") == "fp32"  # a setting is obeyed
    assert pick_precision("bf16", "cpu", flags=avx2) == "bf16"


def test_the_judge_keeps_bf16_on_a_cpu_with_native_bf16_whatever_the_embedder_picks(monkeypatch):
    from shared.relevance import JudgeSettings
    from shared.relevance.judge import EvidenceRulesJudge

    monkeypatch.setattr("shared.embedder.cpu_has_native_bf16", lambda cpuinfo=None: True)
    assert EvidenceRulesJudge(JudgeSettings()).encoder.bf16
    assert not EvidenceRulesJudge(JudgeSettings(precision="fp32")).encoder.bf16
    monkeypatch.setattr("shared.embedder.cpu_has_native_bf16", lambda cpuinfo=None: False)
    assert not EvidenceRulesJudge(JudgeSettings()).encoder.bf16
    assert EvidenceRulesJudge(JudgeSettings(precision="bf16")).encoder.bf16


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


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def test_an_int8_encode_stays_within_cosine_0_98_of_fp32_is_unit_length_and_made_once(onnx_cache):
    spec = EmbedSettings().models[0]
    fp32 = SentenceTransformerEmbedder(spec, EmbedSettings(precision="fp32"))
    int8 = SentenceTransformerEmbedder(spec, EmbedSettings(precision="int8", onnx_cache=onnx_cache))
    a, b = fp32.encode(ABSTRACTS), int8.encode(ABSTRACTS)
    assert int8.precision == "int8" and int8.device == "cpu"
    assert b.dtype == np.float32 and b.shape == a.shape
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.98
    made = sorted(onnx_cache.iterdir())
    assert [p.suffix for p in made] == [".onnx"]  # the quantised file only: the fp32 export was temporary
    stamp = made[0].stat().st_mtime_ns
    again = SentenceTransformerEmbedder(spec, EmbedSettings(precision="int8", onnx_cache=onnx_cache))
    assert np.allclose(again.encode(ABSTRACTS), b, atol=1e-6)  # the same file, the same vectors
    assert sorted(onnx_cache.iterdir()) == made and made[0].stat().st_mtime_ns == stamp


def test_an_int8_batch_gives_each_text_nearly_the_vector_it_gets_alone(onnx_cache):
    """Padding must not leak into a shorter text's vector; what moves it is only the activations'
    int8 scale, which is set per batch (measured 0.991 here)."""
    int8 = SentenceTransformerEmbedder(EmbedSettings().models[0],
                                       EmbedSettings(precision="int8", onnx_cache=onnx_cache, encode_batch_size=8))
    together = int8.encode(ABSTRACTS)
    alone = np.vstack([int8.encode([t]) for t in ABSTRACTS])
    assert (together * alone).sum(axis=1).min() > 0.98


def test_int8_refuses_a_model_it_cannot_pool_and_a_gpu_naming_the_setting(tmp_path):
    from shared.embedder_onnx import pooling_of

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]')
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_max_tokens": true}')
    with pytest.raises(PermanentError, match="QUESTLOG_EMBED__PRECISION=fp32"):
        pooling_of(tmp_path)
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    assert pooling_of(tmp_path) == ("cls", False)
    gpu = SentenceTransformerEmbedder(EmbedSettings().models[0], EmbedSettings(precision="int8", device="cuda"))
    with pytest.raises(PermanentError, match="QUESTLOG_EMBED__PRECISION"):
        gpu.encode(ABSTRACTS)


def test_auto_falls_back_to_bf16_or_fp32_where_the_int8_path_fails_but_an_asked_for_int8_says_why(monkeypatch):
    import shared.embedder_onnx as onnx_path

    def broken(*args, **kwargs):
        raise OSError("no exporter for this architecture")

    monkeypatch.setattr(onnx_path, "OnnxInt8Encoder", broken)
    for flags, fallback in ((frozenset({"avx2"}), "fp32"), (frozenset({"avx2", "avx512_bf16"}), "bf16")):
        monkeypatch.setattr("shared.embedder.cpu_flags", lambda cpuinfo=None, flags=flags: flags)
        auto = SentenceTransformerEmbedder(EmbedSettings().models[0], EmbedSettings(precision="auto", device="cpu"))
        assert np.allclose(np.linalg.norm(auto.encode(ABSTRACTS), axis=1), 1.0, atol=1e-5)
        assert auto.precision == fallback
    asked = SentenceTransformerEmbedder(EmbedSettings().models[0], EmbedSettings(precision="int8"))
    with pytest.raises(PermanentError, match="no exporter for this architecture"):
        asked.encode(ABSTRACTS)
