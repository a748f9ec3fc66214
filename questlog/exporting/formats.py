"""Export items as text: BibTeX, RIS, CSL-JSON, CSV, Markdown. Each renderer is `items -> str`.

Reference formats (BibTeX, RIS, CSL-JSON) hold one entry per paper: the links of one paper (two
passages, or two questions with --all) become one entry whose note lists each link (question,
answer, verdict, rationale, the user's note). CSV holds one row per link, every field, and is
what `questlog import` reads back. Markdown is a report per question, each link citing its
BibTeX key as `[@key]`. No items: an empty but valid file (CSV keeps its header).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import bibtexparser
import rispy
from bibtexparser import model
from pylatexenc.latexencode import UnicodeToLatexEncoder

from questlog.exporting.items import ExportItem, given_names, surname

CSV_COLUMNS = (
    "question_id", "question", "question_status", "evidence_id", "found_at", "score", "says", "stance",
    "answer", "rationale", "verdict", "note", "model", "retrieval", "bibtex_key", "paper", "version",
    "title", "authors", "published", "doi", "url", "abstract", "passage_index", "passage",
)
AUTHOR_SEPARATOR = "; "  # in CSV: names hold commas ('Vaswani, Ashish') but never semicolons

_latex = UnicodeToLatexEncoder(unknown_char_policy="keep")


def by_paper(items: list[ExportItem]) -> list[list[ExportItem]]:
    """Items grouped by paper, papers in order of first appearance."""
    groups: dict[str, list[ExportItem]] = {}
    for i in items:
        groups.setdefault(i.paper, []).append(i)
    return list(groups.values())


def link_summary(i: ExportItem) -> str:
    """One line about one link, for a reference's note field."""
    parts = [f"questlog Q{i.question_id} ({i.question}): {i.says}", f"verdict: {i.verdict or 'none'}"]
    if i.rationale:
        parts.append(f"rationale: {i.rationale}")
    if i.note:
        parts.append(f"note: {i.note}")
    return "; ".join(parts)


def to_bibtex(items: list[ExportItem]) -> str:
    library = bibtexparser.Library()
    for group in by_paper(items):
        i = group[0]
        fields = {"title": _tex(i.title),
                  "author": " and ".join(_tex(f"{surname(a)}, {given_names(a)}".strip(", ")) for a in i.authors),
                  "year": str(i.year or ""), "doi": i.doi or "", "url": _raw(i.url or ""),
                  "eprint": i.arxiv_id or "", "archiveprefix": "arXiv" if i.arxiv_id else "",
                  "abstract": _tex(i.abstract), "note": _tex(" | ".join(link_summary(x) for x in group))}
        library.add(model.Entry("article", i.key, [model.Field(k, v) for k, v in fields.items() if v]))
    return bibtexparser.write_string(library)


def to_ris(items: list[ExportItem]) -> str:
    refs = []
    for group in by_paper(items):
        i = group[0]
        ref = {"type_of_reference": "JOUR", "id": i.key, "title": i.title, "authors": list(i.authors),
               "year": str(i.year or ""), "doi": i.doi or "", "urls": [i.url] if i.url else [],
               "abstract": i.abstract, "notes": [link_summary(x) for x in group]}
        refs.append({k: v for k, v in ref.items() if v})
    return rispy.dumps(refs, implementation=_RisWriter) if refs else ""


class _RisWriter(rispy.RisWriter):
    """rispy's writer without the '1.' line it puts before each reference: not part of RIS, and
    some importers (reference managers reading strictly) stop at it."""

    def set_header(self, count: int) -> str:
        return ""


def to_csljson(items: list[ExportItem]) -> str:
    entries = []
    for group in by_paper(items):
        i = group[0]
        entry = {"id": i.key, "type": "article", "title": i.title,
                 "author": [{"family": surname(a), "given": given_names(a)} for a in i.authors],
                 "note": "\n".join(link_summary(x) for x in group)}
        if i.published:
            entry["issued"] = {"date-parts": [[i.published.year, i.published.month, i.published.day]]}
        for field, value in (("DOI", i.doi), ("URL", i.url), ("abstract", i.abstract)):
            if value:
                entry[field] = value
        entries.append(entry)
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"


def to_csv(items: list[ExportItem]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in items:
        writer.writerow({
            "question_id": i.question_id, "question": i.question, "question_status": i.question_status,
            "evidence_id": i.evidence_id, "found_at": i.found_at.isoformat(), "score": repr(i.score),
            "says": i.says, "stance": i.stance, "answer": i.answer, "rationale": i.rationale,
            "verdict": i.verdict or "", "note": i.note or "", "model": i.model, "retrieval": i.retrieval,
            "bibtex_key": i.key, "paper": i.paper, "version": i.version or "", "title": i.title,
            "authors": AUTHOR_SEPARATOR.join(i.authors), "published": i.published.isoformat() if i.published else "",
            "doi": i.doi or "", "url": i.url or "", "abstract": i.abstract, "passage_index": i.passage_index,
            "passage": i.passage})
    return buffer.getvalue()


def to_xlsx(items: list[ExportItem]) -> bytes:
    """The CSV export's rows as one worksheet (what `questlog import` reads back, too)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("evidence")
    for row in csv.reader(io.StringIO(to_csv(items))):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_markdown(items: list[ExportItem], questions: list[tuple[int, str, str]]) -> str:
    """A report per question (id, text, status), in the order given, even one with no items."""
    lines: list[str] = []
    for qid, text, status in questions:
        mine = [i for i in items if i.question_id == qid]
        lines += [f"# Q{qid}: {text}", "", f"Status: {status}. Evidence: {len(mine)} link(s), best first.", ""]
        if not mine:
            lines += ["No evidence to export.", ""]
        for n, i in enumerate(mine, 1):
            who = ", ".join(i.authors[:3]) + (" et al." if len(i.authors) > 3 else "")
            lines += [f"## {n}. {i.title} [@{i.key}]", "",
                      f"- Paper: {who or 'unknown authors'} ({i.year or 'n.d.'}), `{i.arxiv_id or i.paper}`"
                      + (f", DOI {i.doi}" if i.doi else "") + (f", <{i.url}>" if i.url else ""),
                      f"- Says: {i.says} (score {i.score:.2f}); verdict: {i.verdict or 'none'}; "
                      f"found {i.found_at.date().isoformat()}; link `{i.evidence_id[:8]}`"]
            if i.rationale:
                lines.append(f"- Rationale: {i.rationale}")
            if i.note:
                lines.append(f"- Note: {i.note}")
            lines.append("")
    return "\n".join(lines)


def _tex(text: str) -> str:
    """Plain text as BibTeX field text: LaTeX specials escaped (& % $ # _ { } ~ ^ \\), accents as macros."""
    return _latex.unicode_to_latex(" ".join(text.split()))


def _raw(text: str) -> str:
    # URLs are verbatim in BibTeX; only an unbalanced brace could break the entry.
    return text.replace("{", "%7B").replace("}", "%7D")


RENDERERS: dict[str, Callable[[list[ExportItem]], str]] = {
    "bibtex": to_bibtex, "ris": to_ris, "csljson": to_csljson, "csv": to_csv,
}
FORMATS = ("bibtex", "ris", "csljson", "csv", "xlsx", "markdown")
