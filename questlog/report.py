"""`questlog status`: one report of queues, counts, feeds and dead letters."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.table import Table

from shared.ledger import Ledger
from shared.settings import Settings


def mask_password(url: str | None) -> str | None:
    """'redis://:secret@host/0' -> 'redis://:***@host/0'; anything else unchanged."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}"))


def status_report(settings: Settings, ledger: Ledger, workers_too: bool = True) -> dict:
    """What `questlog status` shows. `workers_too=False` skips asking the workers who is alive (a
    broadcast that waits a second): queue depths and the ledger's figures only."""
    from questlog.cli_common import pipeline_or_none

    pipe = pipeline_or_none(settings)
    queues, workers, broker = None, [], None
    if pipe is not None:
        broker = mask_password(pipe.app.conf.broker_url)
        try:
            queues = pipe.depths()
            workers = pipe.workers(timeout_s=1.0) if workers_too else []
        except Exception as e:  # the broker went away between resolve and use
            queues = {"error": str(e)}
        finally:
            pipe.close()
    feeds = [{"feed": c.key, "last_success": c.last_success_at, "last_error": c.last_error or None,
              "last_error_at": c.last_error_at, "papers_found": c.papers_found,
              "newest": (c.value.get("newest") or [None])[0]} for c in ledger.cursors()
             if not c.key.startswith("expansion:")]  # expansion rows remember expanded papers, not feeds
    sources: dict[str, dict] = {}
    for f in feeds:
        src = sources.setdefault(f["feed"].split(":", 1)[0], {"last_success": None, "papers_found": 0})
        src["papers_found"] += f["papers_found"]
        if f["last_success"] and (src["last_success"] is None or f["last_success"] > src["last_success"]):
            src["last_success"] = f["last_success"]
    dead = [{"id": d.id, "task": d.task, "error": d.error, "attempts": d.attempts, "at": d.updated_at}
            for d in ledger.dead_letters()]
    return {"data_dir": str(settings.data_dir.resolve()), "broker": broker,
            "workers": workers, "queues": queues, "counts": ledger.counts(), "fulltext": ledger.fulltext_counts(),
            "sources": sources,
            "feeds": feeds, "dead_letters": dead}


def print_status(out: Console, r: dict) -> None:
    out.print(f"data: {r['data_dir']}   broker: {r['broker'] or 'not running'}   workers: {', '.join(r['workers']) or 'none'}")
    if r["queues"]:
        out.print("queues: " + "  ".join(f"{k}={v}" for k, v in r["queues"].items()))
    out.print("counts: " + "  ".join(f"{k}={v}" for k, v in r["counts"].items()))
    if r.get("fulltext"):
        out.print("full text: " + "  ".join(f"{k}={v}" for k, v in sorted(r["fulltext"].items())))
    t = Table("feed", "last success", "papers", "last error")
    for f in r["feeds"]:
        t.add_row(f["feed"], str(f["last_success"] or "-")[:19], str(f["papers_found"]), (f["last_error"] or "")[:80])
    out.print(t)
    if r["dead_letters"]:
        d = Table("dead letter", "task", "attempts", "error")
        for x in r["dead_letters"]:
            d.add_row(x["id"][:8], x["task"], str(x["attempts"]), x["error"][:100])
        out.print(d)
