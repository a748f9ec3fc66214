"""The shipped stance cross-encoder, its decision rule, and the sentence splitter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.errors import PermanentError
from shared.stance import CrossEncoderJudge, StanceJudge, sentences_of, split_sentences
from shared.stance.base import DEFAULT_MODEL_DIR
from shared.stance.cross_encoder import decide
from tests.conftest import SHARED

SCIFACT = SHARED / "eval" / "scifact-train-evidence.jsonl"

TRIAL = [
    "We randomised 400 adults with type 2 diabetes to metformin or placebo for two years.",
    "Metformin reduced HbA1c by 1.1 percentage points compared with placebo.",
    "Gastrointestinal side effects were more common with metformin.",
]


@pytest.fixture(scope="module")
def judge() -> CrossEncoderJudge:
    return CrossEncoderJudge()


# ---- the splitter -------------------------------------------------------------------


def test_it_splits_an_abstract_at_sentence_ends():
    text = "Obesity is common. We studied 50 mice! Did weight fall? Yes."
    assert sentences_of(text) == ["Obesity is common.", "We studied 50 mice!", "Did weight fall?", "Yes."]


def test_it_does_not_split_after_e_g_et_al_or_figure_abbreviations():
    text = "Some drugs (e.g. Statins) help, as Smith et al. Reported in Fig. 2 and cf. Table 1. Next one."
    assert sentences_of(text) == [
        "Some drugs (e.g. Statins) help, as Smith et al. Reported in Fig. 2 and cf. Table 1.",
        "Next one.",
    ]


def test_it_does_not_split_decimals_initials_or_dotted_acronyms():
    text = "Doses were 2.5 mg and 0.75 mg. J. Smith ran it in the U.S. Army. E. coli grew."
    assert sentences_of(text) == ["Doses were 2.5 mg and 0.75 mg.", "J. Smith ran it in the U.S. Army.", "E. coli grew."]


def test_it_splits_before_a_sentence_that_starts_with_a_lower_case_gene_or_assay_name():
    text = "Levels rose (P<0.001). mtDNA was lost. p62 binds VDR. cDNA analysis followed. and then nothing."
    assert sentences_of(text) == [
        "Levels rose (P<0.001).", "mtDNA was lost.", "p62 binds VDR.", "cDNA analysis followed. and then nothing."
    ]


def test_it_splits_after_a_closing_bracket_and_at_blank_lines():
    text = "The effect was large (p < 0.001). Results held.\n\nCONCLUSIONS: It works"
    assert sentences_of(text) == ["The effect was large (p < 0.001).", "Results held.", "CONCLUSIONS: It works"]


def test_the_spans_point_back_into_the_text_without_surrounding_space():
    text = "  First one.   Second one.  "
    spans = split_sentences(text)
    assert spans == [(2, 12), (15, 26)]
    assert [text[a:b] for a, b in spans] == ["First one.", "Second one."]


def test_a_text_without_sentence_ends_is_one_sentence_and_blank_text_none():
    assert sentences_of("no full stop here") == ["no full stop here"]
    assert split_sentences("   ") == []


# ---- the decision rule --------------------------------------------------------------


def test_a_passage_whose_strongest_sentence_is_below_the_evidence_threshold_is_neutral():
    j = decide([[0.2, 0.1, 0.7], [0.1, 0.1, 0.8]], evidence_threshold=0.5, rationale_threshold=0.2)
    assert (j.stance, j.rationale, j.score) == ("neutral", [], pytest.approx(0.7))
    assert j.sentence_scores == [pytest.approx(0.3), pytest.approx(0.2)]


def test_the_rationale_is_every_sentence_over_its_threshold_and_the_stance_that_of_the_strongest():
    probs = [[0.1, 0.8, 0.1], [0.05, 0.05, 0.9], [0.6, 0.1, 0.3], [0.65, 0.0, 0.35]]
    j = decide(probs, evidence_threshold=0.5, rationale_threshold=0.6)
    # supports has more mass over the rationale, but the strongest sentence contradicts
    assert (j.stance, j.rationale, j.score) == ("contradicts", [0, 2, 3], 0.8)


def test_the_strongest_sentence_is_in_the_rationale_even_below_the_rationale_threshold():
    j = decide([[0.6, 0.0, 0.4], [0.0, 0.0, 1.0]], evidence_threshold=0.5, rationale_threshold=0.9)
    assert (j.stance, j.rationale) == ("supports", [0])


# ---- the shipped model --------------------------------------------------------------


def test_importing_the_stance_package_does_not_import_torch():
    code = "import sys, shared.stance, shared.stance.cross_encoder, shared.stance.llm; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_weights_ship_in_fp16_and_load_as_fp32(judge):
    from safetensors import safe_open

    with safe_open(str(DEFAULT_MODEL_DIR / "model.safetensors"), "pt") as f:
        assert {str(f.get_slice(k).get_dtype()) for k in f.keys()} == {"F16"}
    _, encoder, head = judge._loaded()
    assert {p.dtype for p in [*encoder.parameters(), *head.parameters()]} == {__import__("torch").float32}


def test_the_meta_records_seed_data_thresholds_and_validation_metrics():
    meta = json.loads((DEFAULT_MODEL_DIR / "meta.json").read_text())
    assert {"base_model", "seed", "data", "date", "validation", "evidence_threshold", "rationale_threshold"} <= set(meta)
    assert 0 < meta["validation"]["scifact-train-evidence"]["n"]


def test_the_judge_is_a_stance_judge_named_after_its_model(judge):
    assert isinstance(judge, StanceJudge)
    assert judge.name.startswith("cross-encoder:stance-minilm")


def test_it_finds_the_sentence_that_supports_a_claim(judge):
    j = judge.judge("Metformin lowers HbA1c in type 2 diabetes.", TRIAL)
    assert j.stance == "supports"
    assert 1 in j.rationale


def test_it_finds_the_sentence_that_contradicts_a_claim(judge):
    j = judge.judge("Metformin has no effect on HbA1c in type 2 diabetes.", TRIAL)
    assert j.stance == "contradicts"
    assert 1 in j.rationale


def test_it_calls_a_passage_about_something_else_neutral(judge):
    j = judge.judge("Sea ice in the Arctic has declined since 1979.", TRIAL)
    assert (j.stance, j.rationale) == ("neutral", [])


def test_it_scores_every_sentence_and_keeps_the_rationale_among_the_strongest(judge):
    j = judge.judge("Metformin lowers HbA1c in type 2 diabetes.", TRIAL)
    assert len(j.sentence_scores) == len(TRIAL)
    assert all(0.0 <= s <= 1.0 for s in j.sentence_scores) and 0.0 <= j.score <= 1.0
    assert max(range(len(TRIAL)), key=j.sentence_scores.__getitem__) in j.rationale


def test_judging_many_at_once_answers_as_judging_one_by_one(judge):
    pairs = [
        ("Metformin lowers HbA1c in type 2 diabetes.", TRIAL),
        ("Sea ice in the Arctic has declined since 1979.", TRIAL),
        ("Metformin causes gastrointestinal side effects.", TRIAL[1:]),
    ]
    together = judge.judge_many(pairs)
    alone = [judge.judge(q, s) for q, s in pairs]
    assert [(j.stance, j.rationale) for j in together] == [(j.stance, j.rationale) for j in alone]
    for a, b in zip(together, alone, strict=True):
        assert a.sentence_scores == pytest.approx(b.sentence_scores, abs=1e-4)


def test_an_empty_passage_is_neutral_without_scores(judge):
    j = judge.judge("Metformin lowers HbA1c.", [])
    assert (j.stance, j.rationale, j.sentence_scores) == ("neutral", [], [])


def test_a_missing_model_folder_is_a_permanent_error_naming_it(tmp_path):
    with pytest.raises(PermanentError, match=str(tmp_path)):
        CrossEncoderJudge(tmp_path)


@pytest.mark.skipif(not SCIFACT.exists(), reason="SciFact evidence file not present")
def test_it_beats_the_majority_label_on_held_out_scifact_pairs(judge):
    from shared.stance.evaluate import evaluate_evidence

    m = evaluate_evidence(judge, SCIFACT, split="validation", limit=40)
    # Calling everything the majority label scores at most 1/3 * 2p/(p+1) < 0.23 here.
    assert m["stance_macro_f1"] > 0.4
    assert m["rationale_f1"] > 0.3
