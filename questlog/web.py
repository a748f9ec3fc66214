"""`questlog web`: a read-only page and JSON API over the ledger, standard library only.

    GET /                              HTML: every question, its evidence count, a link to it
    GET /questions/<id>                HTML: the question's evidence, best first
    GET /api/questions                 JSON: [{id, text, status, notes, models, created_at, evidence_count}]
    GET /api/questions/<id>/evidence   JSON: {question, evidence: [...]}, the keys of `questlog evidence --json`
    GET /api/status                    JSON: `questlog status --json`, broker password masked
    GET /healthz                       200 "ok" while the ledger answers, else 503

`?limit=N` (1..1000, default 100) caps the evidence shown. An unknown question is a
404: JSON under /api/, an HTML page elsewhere. A bad limit is a 400; any method but
GET and HEAD is a 405. Everything taken from the ledger is HTML-escaped, and only
http(s) paper URLs become links (a `javascript:` URL from a feed stays text).
Nothing here writes (opening the ledger creates its tables if they are missing) or
imports torch or sentence-transformers.
"""

from __future__ import annotations

import html
import json
import logging
import re
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from questlog.report import mask_password, status_report
from shared.errors import NotFound
from shared.ledger import EvidenceView, Ledger, as_utc
from shared.settings import Settings

log = logging.getLogger("questlog.web")

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
_ID = r"(\d{1,18})"  # longer ids cannot exist and would overflow SQLite's integer binding
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str


class BadRequest(ValueError):
    pass


# -- views: (server, path args, query) -> Reply -------------------------------
def index(app: WebServer, _args: tuple, _query: dict) -> Reply:
    rows = "".join(
        f"<tr><td>{q.id}</td><td>{_e(q.status)}</td><td><a href=\"/questions/{q.id}\">{_e(q.text)}</a></td>"
        f"<td class=\"n\">{n}</td></tr>" for q, n in _questions_with_counts(app.ledger))
    body = ("<table><thead><tr><th>id</th><th>status</th><th>question</th><th>evidence</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>" if rows else "<p>No questions yet: <code>questlog ask \"…\"</code></p>")
    nav = '<p class="meta"><a href="/api/questions">JSON</a> · <a href="/api/status">status</a></p>'
    return _page("questlog", f"<h1>Questions</h1>{nav}{body}")


def question_page(app: WebServer, args: tuple, query: dict) -> Reply:
    q = app.ledger.question(int(args[0]))
    items = app.ledger.evidence(q.id, limit=_limit(query))
    cards = f"<ol>{''.join(_evidence_card(e) for e in items)}</ol>" if items else "<p>No evidence yet.</p>"
    head = (f'<p><a href="/">← all questions</a></p><h1>Q{q.id}: {_e(q.text)}</h1>'
            f'<p class="meta">{_e(q.status)} · {len(items)} shown, best first · '
            f'<a href="/api/questions/{q.id}/evidence">JSON</a></p>')
    notes = f'<p class="notes">{_e(q.notes)}</p>' if q.notes else ""
    return _page(f"Q{q.id} · questlog", f"{head}{notes}{cards}")


def api_questions(app: WebServer, _args: tuple, _query: dict) -> Reply:
    return _json([{**question_json(q), "evidence_count": n} for q, n in _questions_with_counts(app.ledger)])


def api_evidence(app: WebServer, args: tuple, query: dict) -> Reply:
    q = app.ledger.question(int(args[0]))
    items = app.ledger.evidence(q.id, limit=_limit(query))
    return _json({"question": question_json(q), "evidence": [evidence_json(e) for e in items]})


def api_status(app: WebServer, _args: tuple, _query: dict) -> Reply:
    return _json(status_report(app.settings, app.ledger))


def healthz(app: WebServer, _args: tuple, _query: dict) -> Reply:
    try:
        with app.ledger.session() as s:
            s.scalar(select(1))
    except Exception as e:  # any failure to reach the ledger means "not healthy", never a crash
        log.warning("health check: ledger unreachable: %s", e)
        return Reply(503, b"ledger unreachable\n", "text/plain; charset=utf-8")
    return Reply(200, b"ok\n", "text/plain; charset=utf-8")


ROUTES = [
    (re.compile(r"/"), index),
    (re.compile(rf"/questions/{_ID}"), question_page),
    (re.compile(r"/api/questions"), api_questions),
    (re.compile(rf"/api/questions/{_ID}/evidence"), api_evidence),
    (re.compile(r"/api/status"), api_status),
    (re.compile(r"/healthz"), healthz),
]


# -- shapes ----------------------------------------------------------------
def question_json(q) -> dict:
    return {"id": q.id, "text": q.text, "status": q.status, "notes": q.notes, "models": q.models,
            "created_at": as_utc(q.created_at).isoformat()}


def evidence_json(e: EvidenceView) -> dict:
    return {"id": e.id, "paper": e.paper_key, "paper_id": e.paper_id, "title": e.title, "url": e.url,
            "score": e.score, "scores": e.scores, "stance": e.stance, "answer": e.answer,
            "relevance": e.relevance, "rationale": e.rationale, "rationale_sentences": e.rationale_sentences,
            "passage": e.passage, "retrieval": e.retrieval, "model": e.model,
            "found_at": as_utc(e.found_at).isoformat(), "verdict": e.verdict, "note": e.note,
            "kind": e.kind, "page": e.page, "section": e.section, "where": e.where, "pdf_url": e.pdf_url}


def _questions_with_counts(ledger: Ledger) -> list[tuple]:
    # The Ledger has no per-question count yet; evidence() per question is fine at homelab scale.
    return [(q, len(ledger.evidence(q.id))) for q in ledger.questions()]


def _limit(query: dict) -> int:
    raw = query.get("limit", [str(DEFAULT_LIMIT)])[-1]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


# -- HTML ------------------------------------------------------------------
_STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}"
          "table{border-collapse:collapse;width:100%}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;"
          "text-align:left;vertical-align:top}.n{text-align:right}.meta{color:#666;font-size:.9rem}"
          "ol{padding-left:1.2rem}li{margin-bottom:1.5rem}h2{font-size:1.1rem;margin:0}"
          "blockquote{margin:.4rem 0;padding-left:.8rem;border-left:3px solid #ccc;color:#444}"
          ".rationale{font-style:italic;margin:.3rem 0}")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _evidence_card(e: EvidenceView) -> str:
    href = _safe_href(e.url)
    title = (f'<a href="{_e(href)}" rel="noopener noreferrer">{_e(e.title)}</a>' if href
             else f"{_e(e.title)}" + (f' <span class="meta">({_e(e.url)})</span>' if e.url else ""))
    said = e.answer or (e.stance if e.stance in ("supports", "contradicts") else "evidence")
    meta = f"{_e(e.paper_key)} · score {e.score:.3f} · {_e(said)}" + (f" · {_e(e.verdict)}" if e.verdict else "")
    if e.where:
        pdf = _safe_href(e.pdf_url)
        meta += f' · <a href="{_e(pdf)}">{_e(e.where)}</a>' if pdf else f" · {_e(e.where)}"
    why = f'<p class="rationale">{_e(e.rationale)}</p>' if e.rationale else ""
    why += f'<p class="notes">Note: {_e(e.note)}</p>' if e.note else ""
    return f'<li><h2>{title}</h2><p class="meta">{meta}</p>{why}<blockquote>{_e(e.passage)}</blockquote></li>'


def _safe_href(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def _page(title: str, body: str, status: int = 200) -> Reply:
    doc = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
           f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
           f"<body>{body}</body></html>")
    return Reply(status, doc.encode(), "text/html; charset=utf-8")


def _json(data: object, status: int = 200) -> Reply:
    body = json.dumps(data, indent=2, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o))
    return Reply(status, body.encode() + b"\n", "application/json")


def _error(status: int, message: str, api: bool) -> Reply:
    if api:
        return _json({"error": message, "status": status}, status)
    return _page(f"{status} · questlog", f'<h1>{status}</h1><p>{_e(message)}</p><p><a href="/">questions</a></p>',
                 status)


# -- server ----------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    server: WebServer
    server_version = "questlog-web"

    def version_string(self) -> str:
        return self.server_version  # not the Python version

    def do_GET(self) -> None:
        self._send(self._route(), head=False)

    def do_HEAD(self) -> None:
        self._send(self._route(), head=True)

    def _refuse(self) -> None:
        self._send(_error(405, "questlog web is read-only", self.path.startswith("/api/")), head=False,
                   extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def _route(self) -> Reply:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        api = path.startswith("/api/")
        for pattern, view in ROUTES:
            m = pattern.fullmatch(path)
            if m is None:
                continue
            try:
                return view(self.server, m.groups(), parse_qs(url.query))
            except NotFound as e:
                return _error(404, str(e), api)
            except BadRequest as e:
                return _error(400, str(e), api)
            except Exception:
                log.exception("GET %s failed", path)
                return _error(500, "internal error; see the server log", api)
        return _error(404, f"no page at {path}", api)

    def _send(self, reply: Reply, head: bool, extra: dict[str, str] | None = None) -> None:
        self.send_response(reply.status)
        for k, v in {**_HEADERS, **(extra or {}), "Content-Type": reply.content_type,
                     "Content-Length": str(len(reply.body))}.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args) -> None:
        log.info("%s %s", self.address_string(), format % args)


class WebServer(ThreadingHTTPServer):
    """The HTTP server, holding the settings and one thread-safe Ledger; closing it closes the ledger."""

    daemon_threads = True

    def __init__(self, settings: Settings, ledger: Ledger, address: tuple[str, int]) -> None:
        self.settings, self.ledger = settings, ledger
        super().__init__(address, Handler)

    def server_close(self) -> None:
        super().server_close()
        self.ledger.close()


def make_server(settings: Settings, host: str, port: int) -> ThreadingHTTPServer:
    """A bound, not yet serving server (port 0 picks a free port: see `server_address`)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_url)
    try:
        return WebServer(settings, ledger, (host, port))
    except OSError:
        ledger.close()
        raise


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = make_server(settings, host, port)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    bound_host, bound_port = server.server_address[:2]
    log.info("serving on http://%s:%s (ledger %s)", bound_host, bound_port, mask_password(settings.ledger_url))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.server_close()


def _interrupt(*_) -> None:
    raise KeyboardInterrupt
