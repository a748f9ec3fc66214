"""`questlog sources`: each scholarly source with its settings and how its feeds are doing.

Read from the ledger's cursors table (one row per feed, '<source>:<feed>'), so it
works whether or not the stack runs. A source is 'failing' when its latest error
is newer than its latest success: a source that keeps failing shows up here (and
its feeds in `questlog status`) while the other sources go on.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from shared.ledger import Ledger
from shared.ledger.store import as_utc
from shared.settings import Settings
from shared.sources import registry


def sources_report(settings: Settings, ledger: Ledger) -> list[dict]:
    """One row per known source, in registry order: name, enabled, state ('ok', 'failing', 'never run',
    'disabled'), base_url, min_interval_s, api_key ('set'/'unset'; never the key), last_success,
    last_error, last_error_at, papers_found (new or updated papers), feeds (how many) and failing_feeds."""
    cursors = ledger.cursors()
    rows = []
    for cls in registry.SOURCES:  # read when called: a source registered later is listed too
        name, group = cls.name, cls.settings_of(settings)
        feeds = [c for c in cursors if c.key.startswith(f"{name}:")]
        last_success = _latest(as_utc(c.last_success_at) for c in feeds)
        failing = [c for c in feeds if c.last_error_at and (
            c.last_success_at is None or as_utc(c.last_error_at) > as_utc(c.last_success_at))]
        worst = max((c for c in feeds if c.last_error_at), key=lambda c: as_utc(c.last_error_at), default=None)
        last_error_at = as_utc(worst.last_error_at) if worst else None
        if not group.enabled:
            state = "disabled"
        elif last_error_at and (last_success is None or last_error_at > last_success):
            state = "failing"
        else:
            state = "ok" if last_success else "never run"
        rows.append({
            "name": name, "enabled": group.enabled, "state": state, "base_url": group.base_url,
            "min_interval_s": _interval(group), "api_key": _key(group),
            "last_success": last_success, "last_error": f"{worst.key}: {worst.last_error}" if worst else None,
            "last_error_at": last_error_at, "papers_found": sum(c.papers_found or 0 for c in feeds),
            "feeds": len(feeds), "failing_feeds": sorted(c.key for c in failing)})
    return rows


def _latest(values) -> datetime | None:
    return max((v for v in values if v is not None), default=None)


def _interval(group) -> float:
    if hasattr(group, "min_interval_no_key_s") and getattr(group, "api_key", None) is None:
        return group.min_interval_no_key_s  # Semantic Scholar paces unauthenticated callers slower
    return group.min_interval_s


def _key(group) -> str | None:
    if not hasattr(group, "api_key"):
        return None  # arXiv takes no key
    return "set" if group.api_key is not None else "unset"


def print_sources(out: Console, rows: list[dict]) -> None:
    t = Table("last success", "papers", "feeds", "interval", "last error")
    t.columns.insert(0, Column("state", no_wrap=True))
    t.columns.insert(0, Column("source", no_wrap=True))
    for r in rows:
        colour = {"ok": "green", "failing": "red", "disabled": "dim"}.get(r["state"], "yellow")
        error = (r["last_error"] or "")[:90]
        t.add_row(r["name"], f"[{colour}]{r['state']}[/{colour}]", str(r["last_success"] or "-")[:19],
                  str(r["papers_found"]), f"{r['feeds']}" + (f" ({len(r['failing_feeds'])} failing)"
                                                              if r["failing_feeds"] else ""),
                  f"{r['min_interval_s']:g} s", escape(error))
    out.print(t)
