"""The full-text reader on real papers: PaSa (arXiv 2501.10120, two-column pdfTeX), a 41-page
single-column perspective with figures, and a synthetic page of tables, images and LaTeX; then bad
input, and the cache. The PDFs live outside the repository (`../shared/data/fulltext`)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from pathlib import Path

import pytest
from pypdf import PdfWriter

import shared.fulltext.pdf as pdf_module
from shared.errors import PermanentError
from shared.fulltext import BodyPassage, Reading, ReadingCache, UnreadableDocument, read_pdf
from shared.fulltext.passages import sentences
from shared.fulltext.structure import Line, classify

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fulltext"


def pdf_bytes(name: str) -> bytes:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not here (real PDFs are kept outside the repository)")
    return path.read_bytes()


@pytest.fixture(scope="module")
def pasa_bytes() -> bytes:
    return pdf_bytes("pasa-2501.10120.pdf")


@pytest.fixture(scope="module")
def pasa(pasa_bytes) -> Reading:
    return read_pdf(pasa_bytes)


@pytest.fixture(scope="module")
def perspective() -> Reading:
    return read_pdf(pdf_bytes("molecular-explanations-perspective.pdf"))


@pytest.fixture(scope="module")
def synthetic_bytes() -> bytes:
    return pdf_bytes("synthetic-tables-images.pdf")


def encrypted(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def passage_with(reading: Reading, words: str) -> BodyPassage:
    found = [p for p in reading.passages if words in p.text]
    assert len(found) == 1, f"{len(found)} passages contain {words!r}"
    return found[0]


# --- PaSa: a two-column pdfTeX paper -------------------------------------------------------------

def test_pasa_reads_as_fifteen_pages_with_its_title_and_arxiv_id(pasa):
    assert pasa.pages == 15
    assert pasa.title == "PaSa: An LLM Agent for Comprehensive Academic Paper Search"
    assert pasa.arxiv_id == "2501.10120"
    assert pasa.doi is None
    assert pasa.extractor == "pypdf 7.1.1"


def test_pasa_sections_are_its_numbered_headings_in_order(pasa):
    expected = ["Abstract", "1 Introduction", "2 Related Work", "3.1 AutoScholarQuery", "3.2 RealScholarQuery",
                "4.1 Overview", "4.2 Crawler", "4.3 Selector", "5.1 Experimental Setting",
                "5.2 Baselines and Evaluation", "5.3 Main results", "5.4 Ablation study", "6 Conclusion",
                "A.1 Imitation learning data generation", "A.2 Roll-Out in PPO training",
                "B Implementation Details of the Selector", "C Selector Test Dataset", "D Dataset Examples",
                "E.1 Prompts for Baselines", "E.2 Prompt for Paper Selection"]
    in_order = [p.section for p in pasa.passages]
    assert [s for i, s in enumerate(in_order) if i == 0 or in_order[i - 1] != s] == expected  # none comes back
    assert "5 Experiments" in pasa.text.split("\n")


def test_table_rows_and_equation_numbers_are_not_taken_for_headings(pasa):
    assert not any(re.match(r"\d+ [a-z]", s) for s in pasa.sections())  # "16 policy freezing step 50"
    assert "policy freezing step 50" not in " ".join(p.text for p in pasa.passages)


def test_the_recall_comparison_with_google_is_a_body_passage_on_page_8_under_main_results(pasa):
    sentence = ("Against the best Google-based baseline on RealScholarQuery, Google with GPT-4o, PaSa-7b "
                "outperforms Google by 37.78%, 39.90%, and 39.83% in recall@20, recall@50 and recall@100, "
                "respectively.")
    passage = passage_with(pasa, sentence)
    assert (passage.kind, passage.page, passage.section) == ("body", 8, "5.3 Main results")


def test_a_paragraph_split_by_a_page_break_and_a_float_reads_on(pasa):
    passage = passage_with(pasa, "Due to the need for manual query submission, we evaluate only 100 randomly sampled")
    assert passage.page == 7 and passage.section == "5.2 Baselines and Evaluation"
    passage = passage_with(pasa, "calls Google7 with the parameters site:arxiv.org and before:query_date, "
                                 "restricting search results by source and publication time.")
    assert passage.page == 7


def test_no_passage_comes_from_the_reference_list(pasa):
    appendix = pasa.text.index("\nA Implementation Details of the Crawler\n")
    assert pasa.references_at is not None and pasa.text[pasa.references_at:].startswith("References\n")
    assert "Shubham Agarwal, Issam H Laradji" in pasa.text[pasa.references_at:appendix]
    for p in pasa.passages:
        assert not (pasa.references_at <= p.start < appendix), p.text
        assert "arXiv preprint" not in p.text


def test_appendices_after_the_references_are_body_passages(pasa):
    passage = passage_with(pasa, "In total, 16 session trajectories are generated per step.")
    assert (passage.kind, passage.page, passage.section) == ("body", 12, "A.2 Roll-Out in PPO training")


def test_every_passage_is_an_exact_slice_that_starts_and_ends_between_words(pasa, perspective):
    for reading in (pasa, perspective):
        for p in reading.passages:
            assert reading.text[p.start:p.end] == p.text
            assert p.start == 0 or not reading.text[p.start - 1].isalpha(), p.text[:40]
            assert p.end == len(reading.text) or not reading.text[p.end].isalpha(), p.text[-40:]


def test_every_passage_starts_on_the_page_it_names(pasa, perspective):
    for reading in (pasa, perspective):
        assert len(reading.page_starts) == reading.pages and reading.page_starts[0] == 0
        assert list(reading.page_starts) == sorted(reading.page_starts)
        for p in reading.passages:
            assert reading.page_of(p.start) == p.page


def test_body_passages_are_a_few_sentences_of_bounded_length(pasa, perspective):
    for reading in (pasa, perspective):
        body = [p for p in reading.passages if p.kind == "body"]
        assert all(40 <= len(p.text) <= 1200 for p in body)
        lengths = sorted(len(p.text) for p in body)
        assert 400 <= lengths[len(lengths) // 2] <= 900


def test_table_captions_are_caption_passages_on_their_page(pasa):
    caption = passage_with(pasa, "Table 4: The hyperparameters used in PPO training.")
    assert (caption.text, caption.kind, caption.page) == ("Table 4: The hyperparameters used in PPO training.",
                                                          "caption", 7)
    captions = [p.text.split(":")[0] for p in pasa.passages if p.kind == "caption"]
    assert captions == ["Figure 1", "Table 1", "Table 2", "Figure 2", "Table 3", "Table 4", "Table 5", "Table 6",
                        "Table 7", "Figure 3", "Table 8", "Table 9", "Table 10", "Table 11", "Table 12", "Table 13",
                        "Table 14", "Table 15", "Table 16"]


def test_a_figure_caption_is_not_part_of_the_body_around_it(pasa):
    caption = passage_with(pasa, "Figure 1: Architecture of PaSa.")
    assert caption.kind == "caption" and caption.page == 2
    assert caption.text.endswith("determine whether it meets the criteria specified in the user query.")
    assert "In this paper, we introduce PaSa" not in caption.text


def test_table_cells_and_figure_labels_are_not_passages(pasa):
    text = " ".join(p.text for p in pasa.passages)
    for debris in ("0.7931 0.1448", "ICLR 2023 888 5204", "Paper Queue Crawler", "[Search]Analysis of scaling"):
        assert debris not in text


def test_the_arxiv_stamp_and_page_numbers_are_dropped(pasa):
    assert "arXiv:2501.10120v1" not in pasa.text and "[cs.IR]" not in pasa.text
    assert "literature surveys.\n1\n" not in pasa.text


def test_words_broken_at_line_ends_are_mended_and_hyphenated_words_kept(pasa):
    abstract = pasa.passages[0]
    assert abstract.section == "Abstract"
    assert "reading papers, and selecting relevant references, to ultimately obtain" in abstract.text
    assert "AutoScholarQuery includes 33,511 / 1,000 / 1,000 query-paper pairs" in pasa.text  # "Au-" "toScholar..."
    assert "Notably, PaSa-7B surpasses the best Google-based baseline" in pasa.text  # "Google-" "based"
    assert "PaSa-GPT-4o (PaSa agent realized by prompting GPT-4o)" in pasa.text  # "GPT-" "4o"


def test_sentences_do_not_end_at_abbreviations_initials_or_decimals():
    text = ("Notably, PaSa-7B surpasses the best Google-based baseline, Google with GPT-4o, by 37.78% in recall@20 "
            "and 39.90% in recall@50. It also exceeds PaSa-GPT-4o by 30.36% in recall (Kingsley et al., 2011). "
            "Murdoch et al. 26 clarify that interpretability can be perceived as knowledge. Some care should be "
            "taken (e.g., high count of acid groups but no hydrogen bond donors), see Fig. 2 and Ref. 9 by "
            "Andrew D. White. Republished from Ref. 9 with permission.")
    assert sentences(text) == [
        "Notably, PaSa-7B surpasses the best Google-based baseline, Google with GPT-4o, by 37.78% in recall@20 "
        "and 39.90% in recall@50.",
        "It also exceeds PaSa-GPT-4o by 30.36% in recall (Kingsley et al., 2011).",
        "Murdoch et al. 26 clarify that interpretability can be perceived as knowledge.",
        "Some care should be taken (e.g., high count of acid groups but no hydrogen bond donors), see Fig. 2 and "
        "Ref. 9 by Andrew D. White.",
        "Republished from Ref. 9 with permission."]


def test_reading_the_same_bytes_twice_gives_an_equal_reading(pasa, pasa_bytes):
    assert read_pdf(pasa_bytes) == pasa


def test_a_reading_survives_json(pasa):
    assert Reading.from_json(json.loads(json.dumps(pasa.to_json()))) == pasa


def test_a_run_in_abstract_heading_is_split_from_its_text(pasa):
    first = pasa.passages[0].text.split(". ")[0] + "."
    lines = [Line("PaSa: An LLM Agent for Comprehensive Academic Paper Search", 1, kind="title", block=0),
             Line("Abstract—" + first, 1), Line("1 Introduction", 1), Line(pasa.passages[2].text, 1)]
    classify(lines, width=50)
    assert [(line.kind, line.section) for line in lines] == [
        ("title", ""), ("heading", "Abstract"), ("body", "Abstract"), ("heading", "1 Introduction"),
        ("body", "1 Introduction")]


# --- a single-column perspective with figures ----------------------------------------------------

def test_the_perspective_reads_41_pages_with_its_unnumbered_sections(perspective):
    assert perspective.pages == 41
    assert perspective.title == "A Perspective on Explanations of Molecular Prediction Models"
    assert perspective.arxiv_id is None
    assert perspective.sections() == [
        "Abstract", "Introduction", "Theory", "Self-explaining models", "Attribution methods", "Surrogate models",
        "Counterfactual explanations", "Similarity to adjacent fields", "Applications",
        "Blood-brain barrier permeation prediction", "Solubility prediction",
        "Generalizing XAI – interpreting scent-structure relationships", "Discussion", "Conclusion and outlook",
        "Acknowledgements"]


def test_the_perspectives_figure_captions_are_whole_caption_passages(perspective):
    captions = {p.text.split(":")[0]: p for p in perspective.passages if p.kind == "caption"}
    assert sorted(captions) == ["Figure 1", "Figure 2", "Figure 3", "Figure 4", "Figure 5"]
    assert [captions[f"Figure {n}"].page for n in range(1, 6)] == [16, 17, 18, 19, 20]
    assert captions["Figure 1"].text.endswith("Republished from Ref. 9 with permission from the Royal Society of "
                                              "Chemistry.")
    assert captions["Figure 3"].text.endswith("Republished from Ref. 9 with permission from the Royal Society of "
                                              "Chemistry.")
    body = " ".join(p.text for p in perspective.passages if p.kind == "body")
    assert "Figure 4: Descriptor explanations" not in body


def test_the_perspectives_reference_list_is_cut(perspective):
    assert perspective.text[perspective.references_at:].startswith("References\n(1) Choudhary, K.")
    assert all(p.end <= perspective.references_at for p in perspective.passages)
    assert perspective.passages[-1].section == "Acknowledgements"


def test_accents_drawn_apart_by_pdftex_are_joined(perspective):
    assert "Jiménez-Luna et al. 67 show application of gradCAM" in perspective.text


# --- a synthetic page of tables, images and LaTeX ------------------------------------------------

def test_a_document_of_tables_images_and_latex_reads_without_error(synthetic_bytes):
    reading = read_pdf(synthetic_bytes)
    assert reading.pages == 5
    assert reading.title == "SF Districts in the style of Andy Warhol"  # its metadata title is a template's name
    assert reading.page_of(reading.text.index("Text under table 3.")) == 3
    assert "Col1 Col2 Val11 Val12 Val21 Val11" in reading.text and "E = mc2" in reading.text
    assert all("Val11 Val12" not in p.text for p in reading.passages)


# --- bad input -----------------------------------------------------------------------------------

def test_a_truncated_pdf_is_unreadable(pasa_bytes):
    with pytest.raises(UnreadableDocument, match="^truncated or damaged PDF: "):
        read_pdf(pasa_bytes[: len(pasa_bytes) // 2])


def test_a_damaged_pdf_does_not_flood_the_log_with_pypdf_warnings(pasa_bytes, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UnreadableDocument):
        read_pdf(pasa_bytes[: len(pasa_bytes) // 2])
    assert [r for r in caplog.records if r.name.startswith("pypdf")] == []
    assert logging.getLogger("pypdf").level == logging.NOTSET


def test_a_pdf_without_a_text_layer_has_no_extractable_text():
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(UnreadableDocument, match=r"^no extractable text \(scanned\?\)$"):
        read_pdf(out.getvalue())


def test_a_pdf_header_over_garbage_is_unreadable_not_a_pypdf_error():
    with pytest.raises(UnreadableDocument, match="truncated or damaged PDF"):
        read_pdf(b"%PDF-1.7\n" + bytes(range(256)) * 40)


def test_an_html_error_page_served_as_a_pdf_is_not_a_pdf():
    page = b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>Forbidden</body></html>"
    with pytest.raises(UnreadableDocument) as caught:
        read_pdf(page)
    assert caught.value.reason == "not a PDF (starts with <!DOCTYPE html>)"
    assert isinstance(caught.value, PermanentError)


def test_an_empty_body_is_not_a_pdf():
    with pytest.raises(UnreadableDocument, match=r"^not a PDF \(empty\)$"):
        read_pdf(b"")


def test_a_pdf_that_needs_a_password_is_encrypted(synthetic_bytes):
    with pytest.raises(UnreadableDocument, match="^encrypted PDF$"):
        read_pdf(encrypted(synthetic_bytes, "secret"))


def test_a_pdf_encrypted_with_an_empty_password_reads_like_the_plain_one(pasa, pasa_bytes):
    reading = read_pdf(encrypted(pasa_bytes, ""))
    assert reading.text == pasa.text and reading.passages == pasa.passages


def test_a_pdf_over_the_page_limit_is_refused(pasa_bytes):
    with pytest.raises(UnreadableDocument, match=r"^over the 5-page limit \(15 pages\)$"):
        read_pdf(pasa_bytes, max_pages=5)


# --- the cache -----------------------------------------------------------------------------------

def test_a_second_read_of_the_same_bytes_comes_from_the_cache_without_pypdf(tmp_path, monkeypatch, synthetic_bytes):
    cache = ReadingCache(tmp_path)
    first = cache.read_pdf(synthetic_bytes)

    def no_pypdf(*args, **kwargs):
        raise AssertionError("pypdf was opened for a cached document")

    monkeypatch.setattr(pdf_module, "PdfReader", no_pypdf)
    assert cache.read_pdf(synthetic_bytes) == first
    assert cache.get(ReadingCache.key(synthetic_bytes)) == first
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{ReadingCache.key(synthetic_bytes)}.json"]


def test_a_corrupt_cache_file_is_read_again_and_replaced(tmp_path, synthetic_bytes):
    cache = ReadingCache(tmp_path)
    first = cache.read_pdf(synthetic_bytes)
    path = cache.path(ReadingCache.key(synthetic_bytes))
    path.write_text('{"text": "half a readi', encoding="utf-8")
    assert cache.get(ReadingCache.key(synthetic_bytes)) is None
    assert cache.read_pdf(synthetic_bytes) == first
    assert Reading.from_json(json.loads(path.read_text(encoding="utf-8"))) == first


def test_the_cache_key_is_the_sha256_of_the_bytes_and_an_unknown_key_is_none(tmp_path):
    key = ReadingCache.key(b"%PDF-1.7")
    assert key == hashlib.sha256(b"%PDF-1.7").hexdigest()
    assert ReadingCache(tmp_path).get(key) is None


def test_a_cached_reading_over_a_smaller_page_limit_is_refused(tmp_path, synthetic_bytes):
    cache = ReadingCache(tmp_path)
    cache.read_pdf(synthetic_bytes)
    with pytest.raises(UnreadableDocument, match="over the 2-page limit"):
        cache.read_pdf(synthetic_bytes, max_pages=2)
