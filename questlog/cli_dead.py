"""`questlog dead-letters list|retry|purge`: the operator's view of messages that could not be processed.

A dead letter keeps the message, the task it was for, why it failed and how often. `retry` sends the
message to its task again (the running workers pick it up) and removes the record; a message that is
itself invalid cannot be retried and stays. `purge` removes records for good. Exit codes as in
`questlog.cli`: 0 ok, 1 no broker for a retry, 2 bad input.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from shared.errors import NotFound

dead_app = typer.Typer(help="Messages that could not be processed: list, retry, purge.", no_args_is_help=True)


def _chosen(ids: list[str], every: bool):
    from questlog.cli_common import fail, ledger

    if bool(ids) == every:
        fail("name dead letters by id (or a unique prefix of 6+ characters), or give --all")
    led = ledger()
    if every:
        return led, led.dead_letters(limit=None)
    try:
        return led, [led.dead_letter_row(i) for i in ids]
    except NotFound as e:
        fail(str(e))


@dead_app.command("list")
def list_letters(as_json: bool = typer.Option(False, "--json"),
                 limit: int = typer.Option(50, help="At most this many, newest first.")) -> None:
    """Dead letters, newest first: id, task, attempts, when, why."""
    from questlog.cli_common import ledger, out

    rows = ledger().dead_letters(limit=limit)
    if as_json:
        print(json.dumps([{"id": r.id, "task": r.task, "dedup_key": r.dedup_key, "attempts": r.attempts,
                           "error": r.error, "payload": r.payload, "updated_at": r.updated_at.isoformat()}
                          for r in rows], indent=2))
        return
    if not rows:
        out.print("no dead letters")
        return
    t = Table("id", "task", "attempts", "when (UTC)", "why")
    for r in rows:
        t.add_row(r.id[:8], r.task.removeprefix("questlog."), str(r.attempts), f"{r.updated_at:%Y-%m-%d %H:%M}",
                  escape(r.error[:120]))
    out.print(t)


@dead_app.command()
def retry(ids: list[str] = typer.Argument(None, help="Dead letter ids (or unique prefixes)."),
          every: bool = typer.Option(False, "--all", help="Every dead letter.")) -> None:
    """Send each message to its task again and remove its record (the running workers take it up)."""
    from pydantic import ValidationError

    from questlog.cli_common import err, fail, out, pipeline_or_none, settings
    from workers.routes import TASK_FOR

    led, rows = _chosen(ids or [], every)
    pipe = pipeline_or_none(settings())
    if pipe is None:
        fail("no broker is running; start the stack with `questlog up`", 1)
    message_for = {task: cls for cls, task in TASK_FOR.items()}
    sent, kept = [], 0
    for r in rows:
        cls = message_for.get(r.task)
        try:
            if cls is None:
                raise ValueError(f"no task {r.task!r} takes messages")
            pipe.send([cls.model_validate(r.payload)])
        except (ValidationError, ValueError) as e:
            err.print(f"[yellow]{r.id[:8]} kept:[/yellow] cannot retry ({escape(str(e).splitlines()[0])})")
            kept += 1
            continue
        sent.append(r.id)
    led.remove_dead_letters(sent)
    pipe.close()
    out.print(f"{len(sent)} sent again" + (f", {kept} kept" if kept else ""))


@dead_app.command()
def purge(ids: list[str] = typer.Argument(None, help="Dead letter ids (or unique prefixes)."),
          every: bool = typer.Option(False, "--all", help="Every dead letter."),
          yes: bool = typer.Option(False, "--yes", help="Do not ask (needed with --all when not on a terminal).")
          ) -> None:
    """Remove dead letters for good."""
    from questlog.cli_common import fail, out

    led, rows = _chosen(ids or [], every)
    if every and rows and not yes and not typer.confirm(f"remove all {len(rows)} dead letters?", default=False):
        fail("nothing removed")
    out.print(f"{led.remove_dead_letters([r.id for r in rows])} removed")
