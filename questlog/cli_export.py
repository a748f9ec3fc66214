"""`questlog export`, `questlog note` and `questlog import`: evidence out of and back into the ledger.

Exit codes as in `questlog.cli`: 0 ok (an export with nothing to export included), 2 bad input.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from shared.errors import NotFound

export_app = typer.Typer()


@export_app.command()
def export(question_id: int = typer.Argument(None, help="The question to export; or --all."),
           all_questions: bool = typer.Option(False, "--all", help="Every question, in id order."),
           fmt: str = typer.Option("bibtex", "--format", "-f", help="bibtex, ris, csljson, csv or markdown."),
           output: Path = typer.Option(None, "--output", "-o", help="Write this file (atomically); default stdout."),
           only_accepted: bool = typer.Option(False, "--only-accepted",
                                              help="Only accepted links; default: every link but rejected ones.")
           ) -> None:
    """Export a question's evidence (every link but rejected ones) with its papers, answers, rationales,
    verdicts and notes. Nothing to export: an empty but valid file, a notice on stderr, exit 0."""
    from questlog.cli import err, fail, ledger
    from questlog.exporting.formats import FORMATS, RENDERERS, to_markdown
    from questlog.exporting.items import ACCEPTED, KEPT, collect

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if (question_id is None) == (not all_questions):
        fail("give a question id or --all (not both)")
    led = ledger()
    ids = [q.id for q in led.questions()] if all_questions else [question_id]
    try:
        items = collect(led, ids, ACCEPTED if only_accepted else KEPT)
    except NotFound as e:
        fail(str(e))
    if fmt == "markdown":
        text = to_markdown(items, [(q.id, q.text, q.status) for q in (led.question(i) for i in ids)])
    else:
        text = RENDERERS[fmt](items)
    if not items:
        err.print("nothing to export: no " + ("accepted" if only_accepted else "unrejected") + " evidence"
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
    from questlog.cli import fail, ledger, out

    try:
        full = ledger().set_note(evidence_id, text)
    except NotFound as e:
        fail(str(e))
    out.print(f"{full}: note {'set' if text.strip() else 'cleared'}", markup=False)


def write_atomically(path: Path, text: str) -> None:
    """Write `path` whole or not at all: a temporary file beside it, synced, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
