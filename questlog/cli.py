"""`questlog`: the front door.

Every command takes the data directory from --data-dir or QUESTLOG_DATA_DIR
(default ./.questlog). Nothing here imports sentence-transformers or torch.
Exit codes: 0 ok, 1 failure, 2 bad input (unknown id, empty or duplicate question).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from questlog.cli_add import add_app
from questlog.cli_bench import bench_app
from questlog.cli_common import err, fail, ledger, out, pipeline_or_none, settings
from questlog.cli_dead import dead_app
from questlog.cli_eval import eval_app, train_app
from questlog.cli_export import export_app
from shared.errors import NotFound, PermanentError
from shared.ledger import Ledger
from shared.messages import EmbedRequested

app = typer.Typer(help="questlog: question-driven literature watch.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(dead_app, name="dead-letters")
app.add_typer(export_app)  # no name: export, note and import are top-level commands
app.add_typer(add_app)  # `questlog add`
def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        print(f"questlog {version('questlog')}")
        raise typer.Exit()


@app.callback()
def main(data_dir: Path = typer.Option(None, "--data-dir", help="Data directory (env QUESTLOG_DATA_DIR)."),
         show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit.")) -> None:
    if data_dir is not None:
        os.environ["QUESTLOG_DATA_DIR"] = str(data_dir)


@app.command()
def ask(text: str, model: list[str] = typer.Option(None, "--model", help="Dense model(s) for this question.")) -> None:
    """Add an open question; it is searched and backfilled from the corpus at once if the stack runs."""
    s = settings()
    known = [m.name for m in s.embed.models]
    for m in model or []:
        if m not in known:
            fail(f"unknown model {m!r}; configured: {', '.join(known)}")
    try:
        q = ledger(create=True).add_question(text, models=model or [])
    except PermanentError as e:
        fail(str(e))
    pipe = pipeline_or_none(s)
    if pipe is not None:
        from agents.scout.plan import question_crawls
        from shared.sources.registry import enabled_names

        pipe.send([EmbedRequested(target="question", ids=(str(q.id),)),
                   *question_crawls(s, enabled_names(s), q.id, datetime.now(timezone.utc))])
        note = "queued for search and backfill"
    else:
        note = "stored; it is searched when the stack runs (questlog up)"
    out.print(f"question {q.id}: {q.text}  [dim]({note})[/dim]")
    if s.arxiv.enabled and "arxiv" in s.scout.search_sources:  # a question outside the followed fields finds nothing on arXiv: say where it looks
        scope = s.arxiv.search_scope()
        out.print(f"[dim]arXiv is searched within {', '.join(scope)} (QUESTLOG_ARXIV__SEARCH_CATEGORIES; [] for all "
                  "of arXiv)[/dim]" if scope else "[dim]arXiv is searched across all its categories[/dim]")


@app.command()
def questions(as_json: bool = typer.Option(False, "--json"),
              status: str = typer.Option(None, help="Only questions with this status: open, parked or answered.")
              ) -> None:
    """List questions."""
    from shared.ledger.store import QUESTION_STATUSES

    if status is not None and status not in QUESTION_STATUSES:
        fail(f"--status must be one of {', '.join(QUESTION_STATUSES)}; got {status!r}")
    rows = ledger().questions(status=status)
    data = [{"id": q.id, "text": q.text, "status": q.status, "notes": q.notes, "models": q.models,
             "created_at": q.created_at.isoformat()} for q in rows]
    if as_json:
        print(json.dumps(data, indent=2))
        return
    t = Table("id", "status", "question")
    for q in data:
        t.add_row(str(q["id"]), q["status"], escape(q["text"]))
    out.print(t)


@app.command("set-status")
def set_status(question_id: int, status: str, notes: str = typer.Option(None)) -> None:
    """Mark a question open, parked or answered (parked and answered ones are not searched)."""
    try:
        q = ledger().set_question_status(question_id, status, notes)
    except PermanentError as e:
        fail(str(e))
    out.print(f"question {q.id} is {q.status}")


# --verdict's choices and the ledger verdicts each one keeps (rejected links only when asked for)
EVIDENCE_VERDICTS = {"kept": ("accepted", None), "accepted": ("accepted",), "rejected": ("rejected",),
                     "none": (None,), "any": None}


@app.command()
def evidence(question_id: int, as_json: bool = typer.Option(False, "--json"),
             limit: int = typer.Option(50, help="At most this many links."),
             verdict: str = typer.Option("kept", "--verdict",
                                         help="kept (accepted or none: the default), accepted, rejected, none "
                                              "or any; rejected links show only with rejected or any."),
             since: str = typer.Option(None, "--since", help="Only links found on or after this day (YYYY-MM-DD, UTC).")
             ) -> None:
    """A question's evidence, best first, with provenance."""
    if verdict not in EVIDENCE_VERDICTS:
        fail(f"--verdict must be one of {', '.join(EVIDENCE_VERDICTS)}; got {verdict!r}")
    found_from = None
    if since is not None:
        try:
            found_from = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            fail(f"--since must be a day as YYYY-MM-DD; got {since!r}")
    led = ledger()
    try:
        q = led.question(question_id)
    except NotFound as e:
        fail(str(e))
    items = led.evidence(question_id, limit=limit, verdicts=EVIDENCE_VERDICTS[verdict], found_from=found_from)
    if as_json:
        from questlog.web import evidence_json

        print(json.dumps({"question": {"id": q.id, "text": q.text, "status": q.status},
                          "evidence": [evidence_json(e) for e in items]}, indent=2))
        return
    out.print(f"[bold]Q{q.id}[/bold] {q.text}")
    # five columns, the paper's key and place under its title: an 80-column terminal still shows
    # whole titles and whole keys (seven columns left the title a word a line and cut the key)
    t = Table("id", "score", "says", "verdict", "paper")
    for col in t.columns[:3]:
        col.no_wrap = True
    for e in items:
        said = e.answer or (e.stance if e.stance in ("supports", "contradicts") else "evidence")
        mark = "~" if (e.scores or {}).get("learned_from") else ""
        where = " · ".join(x for x in (e.paper_key, e.where) if x)
        t.add_row(e.id[:8], f"{e.score:.2f}{mark}", said, (e.verdict or "") + ("*" if e.note else ""),
                  escape(e.title[:120]) + (f"\n[dim]{escape(where)}[/dim]" if where else ""))
    out.print(t)
    if any(e.note for e in items):
        out.print("[dim]* has a note (`questlog evidence --json` shows it; `questlog note ID TEXT` edits it)[/dim]")
    learned = next((e.scores["learned_from"] for e in items if (e.scores or {}).get("learned_from")), None)
    if learned:
        out.print(f"[dim]~ score learned from this question's {learned} verdict{'s' if learned != 1 else ''} "
                  "(the judge's own relevance is in --json)[/dim]")


@app.command()
def verdict(evidence_id: str, decision: str) -> None:
    """Accept or reject an evidence link (its id, or the first 8 characters `questlog evidence` shows);
    rejected links leave digests. When the stack runs, the question's links are re-ranked and its gate
    for new papers moved by what its verdicts teach (QUESTLOG_LINK__LEARN_FROM_VERDICTS), and an accepted
    paper not yet read in full is fetched and read (unless QUESTLOG_FULLTEXT__FETCH is off)."""
    if decision not in ("accept", "reject", "clear"):
        fail("decision must be accept, reject or clear")
    led = ledger()
    try:
        full = led.set_verdict(evidence_id, {"accept": "accepted", "reject": "rejected"}.get(decision))
    except NotFound as e:
        fail(str(e))
    out.print(f"{full}: {decision}")
    from questlog.writes import verdict_messages
    from shared.messages import FullTextRequested

    s = settings()
    messages = verdict_messages(s, led, full)
    pipe = pipeline_or_none(s) if messages else None
    if pipe is not None:
        try:
            pipe.send(messages)
        finally:
            pipe.close()
        if len(messages) > sum(isinstance(m, FullTextRequested) for m in messages):
            out.print("[dim](the question's links are re-ranked by what its verdicts teach)[/dim]")
        if any(isinstance(m, FullTextRequested) for m in messages):
            out.print("[dim](its full text is being fetched and read)[/dim]")


@app.command()
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Queue depths, counts, last crawl per feed, dead letters."""
    from questlog.report import status_report

    report = status_report(settings(), ledger())
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    from questlog.report import print_status

    print_status(out, report)


@app.command()
def crawl(once: bool = typer.Option(True, "--once/--no-once", help="One crawl of every feed now."),
          wait: bool = typer.Option(False, "--wait", help="Wait until the pipeline has drained.")) -> None:
    """Queue a crawl of every firehose category and open question (workers must be running)."""
    s = settings()
    pipe = pipeline_or_none(s)
    if pipe is None:
        fail("no broker is running; start the stack with `questlog up`", 1)
    if not pipe.workers():
        err.print("[yellow]warning:[/yellow] no worker answers; the crawl waits in the queue until one runs")
    pipe.tick("questlog.scout.tick")
    out.print("crawl queued")
    if wait:
        pipe.wait_idle(progress=lambda d: err.print(f"queues {d}", end="\r"))
        out.print("\npipeline drained")


@app.command()
def digest() -> None:
    """Ask for every open question's digest now (delivered by the running workers)."""
    pipe = pipeline_or_none(settings())
    if pipe is None:
        fail("no broker is running; start the stack with `questlog up`", 1)
    pipe.tick("questlog.digest.tick")
    out.print("digests queued")


@app.command()
def up(flower: bool = typer.Option(True, "--flower/--no-flower")) -> None:
    """Run the whole stack in the foreground until Ctrl-C or SIGTERM."""
    from questlog.stack import Stack, flower_password

    s = settings()
    if s.data_dir.exists() and not s.data_dir.is_dir():
        fail(f"the data directory {s.data_dir} is a file, not a directory")
    stack = Stack(s, flower=flower)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        stack.start()
        Ledger(s.ledger_url).close()  # the ledger exists (and is upgraded) before any worker writes
    except PermanentError as e:
        fail(str(e))
    out.print(f"questlog is up; data in {s.data_dir.resolve()}")
    from questlog.report import mask_password

    out.print(f"  broker   {mask_password(stack.broker_url)}")  # passwords never reach a terminal or a log
    out.print(f"  ledger   {mask_password(s.ledger_url)}")
    out.print(f"  vectors  {mask_password(s.vectors.url) or (s.data_dir / 'qdrant').resolve()}")
    out.print(f"  logs     {(s.data_dir / 'logs').resolve()}")
    if flower:
        out.print(f"  flower   http://{s.flower.host}:{s.flower.port}  (user {s.flower.user}, password in "
                  f"{'QUESTLOG_FLOWER__PASSWORD' if s.flower.password else s.data_dir / 'flower.secret'})")
        flower_password(s)
    out.print("Ctrl-C stops everything; a worker that dies is restarted.")
    code = 0
    try:
        while True:
            restarted, given_up = stack.heal()
            stack.rotate_logs()
            for c in restarted:
                err.print(f"[yellow]{c.name} stopped unexpectedly and was restarted[/yellow] (see {c.log})")
            if given_up:
                err.print(f"[red]{', '.join(c.name for c in given_up)} keeps dying; stopping[/red] (see their logs)")
                code = 1
                break
            time.sleep(1)
    except KeyboardInterrupt:
        out.print("stopping…")
    finally:
        stack.stop()
    out.print("stopped")
    if code:
        raise typer.Exit(code)


@app.command()
def worker(group: str = typer.Argument(..., help="io | embed | vector")) -> None:
    """Run one worker group in the foreground (what compose.yaml runs)."""
    from questlog.stack import worker_argv
    from workers.app import GROUPS

    if group not in GROUPS:
        fail(f"unknown group {group!r}; one of {', '.join(GROUPS)}")
    if group == "vector":  # the linker's process: a missing evidence model is a start-up error, not a dead letter
        from shared.relevance import check_judge

        try:
            check_judge(settings())
        except PermanentError as e:
            fail(str(e))
    os.execv(sys.executable, worker_argv(group, settings(), settings().log_level))


@app.command()
def beat() -> None:
    """Run Celery beat in the foreground."""
    from questlog.stack import beat_argv

    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    os.execv(sys.executable, beat_argv(s, s.log_level))


@app.command()
def flower() -> None:
    """Run Flower (authenticated) in the foreground."""
    from questlog.stack import flower_argv, flower_env

    s = settings()
    os.environ.update(flower_env(s))
    os.execv(sys.executable, flower_argv(s))


@app.command()
def web(host: str = typer.Option("127.0.0.1", help="Address to serve on; loopback unless --allow-remote."),
        port: int = typer.Option(8080),
        allow_remote: bool = typer.Option(False, "--allow-remote",
                                          help="Serve on a non-loopback --host (put TLS in front of it).")) -> None:
    """The research workbench: triage evidence, write conclusions; a JSON API (docs/web.md). The login
    password is generated once into <data_dir>/web.secret and printed on the first start."""
    from questlog.web import serve

    try:
        serve(settings(), host, port, allow_remote=allow_remote)
    except PermanentError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot serve on {host}:{port}: {e.strerror or e}")


@app.command()
def demo(days: int = typer.Option(4, help="Simulated listing days to crawl (at least 2)."),
         data_dir: Path = typer.Option(Path(".questlog/demo"), help="Where the demo keeps its data.")) -> None:
    """Run the whole pipeline offline against a replayed arXiv snapshot, then print evidence and digests."""
    from questlog.demo import run_demo

    raise typer.Exit(run_demo(data_dir, days, out))


@app.command()
def sources(as_json: bool = typer.Option(False, "--json")) -> None:
    """Each scholarly source: enabled, state, last success, last error, papers found."""
    from questlog.sources_report import print_sources, sources_report

    rows = sources_report(settings(), ledger())
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    print_sources(out, rows)


if __name__ == "__main__":
    app()
