"""`questlog export`, `questlog note` and `questlog import`: evidence out of and back into the ledger.

Exit codes as in `questlog.cli`: 0 ok (an export with nothing to export included), 2 bad input.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer
from rich.markup import escape

from shared.errors import NotFound

export_app = typer.Typer()


@export_app.command()
def export(question_id: int = typer.Argument(None, help="The question to export; or --all."),
           all_questions: bool = typer.Option(False, "--all", help="Every question, in id order."),
           fmt: str = typer.Option("bibtex", "--format", "-f", help="bibtex, ris, csljson, csv, xlsx (needs -o) or "
                                                                    "markdown."),
           output: Path = typer.Option(None, "--output", "-o", help="Write this file (atomically); default stdout."),
           only_accepted: bool = typer.Option(False, "--only-accepted",
                                              help="Only accepted links; default: every link but rejected ones."),
           with_rejected: bool = typer.Option(False, "--with-rejected",
                                              help="Every link, rejected ones too (a full backup for import).")
           ) -> None:
    """Export a question's evidence (every link but rejected ones) with its papers, answers, rationales,
    verdicts and notes. BibTeX, RIS and CSL-JSON hold one reference per paper; CSV one row per link
    (what `questlog import` reads); Markdown a report per question. Nothing to export: an empty but
    valid file, a notice on stderr, exit 0."""
    from questlog.cli_common import err, fail, ledger
    from questlog.exporting.formats import FORMATS, RENDERERS, to_markdown
    from questlog.exporting.items import ACCEPTED, ANY, KEPT, collect

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if (question_id is None) == (not all_questions):
        fail("give a question id or --all (not both)")
    if only_accepted and with_rejected:
        fail("--only-accepted and --with-rejected exclude each other")
    if fmt == "xlsx" and output is None:
        fail("--format xlsx writes a file: give -o FILE.xlsx")
    verdicts = ACCEPTED if only_accepted else ANY if with_rejected else KEPT
    led = ledger()
    ids = [q.id for q in led.questions()] if all_questions else [question_id]
    try:
        items = collect(led, ids, verdicts)
    except NotFound as e:
        fail(escape(str(e)))
    if fmt == "markdown":
        text = to_markdown(items, [(q.id, q.text, q.status) for q in (led.question(i) for i in ids)])
    elif fmt == "xlsx":
        from questlog.exporting.formats import to_xlsx

        text = to_xlsx(items)
    else:
        text = RENDERERS[fmt](items)
    if not items:
        err.print("nothing to export: no " + ("accepted " if only_accepted else "" if with_rejected else "unrejected ")
                  + "evidence"
                  + (" for any question" if all_questions else f" for question {question_id}"))
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomically(output, text)
        err.print(f"wrote {len(items)} link(s) to {output}")


@export_app.command()
def note(evidence_id: str, text: str = typer.Argument(..., help='The note; "" clears it.')) -> None:
    """Write a note on an evidence link (its id, or the first 8 characters `questlog evidence` shows);
    it is shown by `evidence --json`, marked in the evidence table, and exported."""
    from questlog.cli_common import fail, ledger, out

    try:
        full = ledger().set_note(evidence_id, text)
    except NotFound as e:
        fail(str(e))
    out.print(f"{full}: note {'set' if text.strip() else 'cleared'}", markup=False)


@export_app.command("import")
def import_csv(file: Path = typer.Argument(..., help="A reading list (CSV or XLSX: question, arxiv_id, doi, "
                                                     "s2_id, openalex_id, title, year, note), or a CSV that "
                                                     "`export --format csv` wrote."),
               dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change; write nothing.")
               ) -> None:
    """Import a reading list or restore an export, in one transaction (a bad row, named by its row
    number with the header as row 1, and nothing is written).

    A reading list's papers are looked up (arXiv ids through arXiv, DOIs through Crossref, s2_id through
    Semantic Scholar, openalex_id and title + year through OpenAlex) and become accepted evidence for
    their question with your note; a question not asked yet is added; a paper that cannot be found
    (a title counts as found only with a close match published in its year) is kept as an unresolved
    entry that says why. An export CSV restores questions with their ids, papers, passages and links with their verdicts and notes. Imported
    passages are embedded when the stack runs."""
    from questlog.cli_common import err, fail, ledger
    from questlog.exporting import reading_list
    from shared.errors import PermanentError

    try:
        header, rows = reading_list.read_rows(file)
    except PermanentError as e:
        fail(f"nothing imported: {escape(str(e))}")
    if not reading_list.is_reading_list({h.strip().lower() for h in header}):
        return _restore_export(file, dry_run)
    entries, errors = reading_list.parse_entries(rows)
    if errors:
        for e in errors:
            err.print(f"[red]error:[/red] {escape(e)}", highlight=False)
        fail(f"nothing imported: {len(errors)} problem(s) in {file}")
    _import_reading_list(entries, dry_run, ledger(create=not dry_run))


def _import_reading_list(entries, dry_run: bool, led) -> None:
    from questlog.cli_common import err, fail, out, settings
    from questlog.exporting import reading_list
    from shared.errors import PermanentError
    from shared.http import LocalRateLimiter
    from shared.ids import normalize_text

    lookups = reading_list.Lookups.open(settings(), LocalRateLimiter(), entries)
    try:
        found = reading_list.resolve(entries, lookups, progress=lambda m: err.print(escape(m)))
    finally:
        lookups.close()
    questions = led.questions()
    links = reading_list.to_links(found, {normalize_text(q.text): q.id for q in questions},
                                  max((q.id for q in questions), default=0) + 1)
    try:
        counts = led.restore(links, dry_run=dry_run)
    except PermanentError as e:
        fail(f"nothing imported: {escape(str(e))}")
    unresolved = [r for r in found if not r.resolved]
    for r in unresolved:
        err.print(f"[yellow]row {r.entry.row}:[/yellow] {escape(r.entry.named)} kept unresolved: {escape(r.reason)}",
                  highlight=False)
    changes = ", ".join(f"{n} {what}" for what, n in counts.items())
    out.print(f"{'dry run, nothing written: would make ' if dry_run else ''}{len(links)} row(s), "
              f"{len(found) - len(unresolved)} resolved, {len(unresolved)} unresolved: {changes}", markup=False)


def _restore_export(file: Path, dry_run: bool) -> None:
    from questlog.cli_common import err, fail, ledger, out
    from questlog.exporting.csv_import import read_links
    from shared.errors import PermanentError

    if file.suffix.lower() == ".xlsx":  # an export written as XLSX: its rows, read as the CSV they were
        import csv

        from questlog.exporting.reading_list import read_rows

        header, rows = read_rows(file)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8", delete=False) as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        try:
            links, errors = read_links(Path(f.name))
        finally:
            os.unlink(f.name)
    else:
        links, errors = read_links(file)
    if errors:
        for e in errors:
            err.print(f"[red]error:[/red] {escape(e)}", highlight=False)
        fail(f"nothing imported: {len(errors)} problem(s) in {file}")
    try:
        counts = ledger(create=True).restore(links, dry_run=dry_run)
    except PermanentError as e:
        fail(f"nothing imported: {escape(str(e))}")
    changes = ", ".join(f"{n} {what}" for what, n in counts.items())
    out.print(f"{'dry run, nothing written: would make ' if dry_run else ''}{len(links)} row(s): {changes}",
              markup=False)


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write `path` whole or not at all: a temporary file beside it, synced, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else
              os.fdopen(fd, "w", encoding="utf-8", newline="")) as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
