"""Replay the real recorded scholarly-API responses (../shared/data/api_samples) on a `ReplayServer`.

    replay = RecordedAPIs(samples_dir)
    replay.mount(server)                                  # every host under /<host>
    SemanticScholarSettings(base_url=server.url + "/api.semanticscholar.org")

Each recorded host is mounted under `/<host>` (OpenAlex and Crossref both have
`/works`). A request is answered by the best recording of the same method and
percent-decoded path:
  - params in IGNORED never matter (the recordings asked for other `fields`);
  - params in OPTIONAL may be missing on one side, but must agree where both carry them;
  - every other param must be on both sides with the same value;
  - a POST's JSON body must equal the recorded one (nulls and empties dropped) where the cassette kept it.
The candidate agreeing on most params wins; ties go to `prefer`red files, then to
recorded order, and a repeated request gets the next equally good recording
(as a cassette would), staying on the last. No candidate: 404 "no recording".

Two hosts need more than a lookup table, and say so:
  - OpenAlex: no recording pages with a cursor. A `/works` list request with
    `search`, `cursor` or a `cites:`/`cited_by:` filter, and a `/works/W…` lookup,
    are answered from the recorded Work objects (filtering, newest-first order and
    cursor paging simulated).
  - arXiv OAI-PMH: the recordings are single files; `/export.arxiv.org/oai2`
    answers by verb and arguments. The one recorded resumptionToken leads to a
    last page built from the recorded GetRecord record. Only arXivRaw was recorded:
    other metadataPrefixes get cannotDisseminateFormat.

Hostile prefixes wrap any route, e.g. `/flaky429/api.crossref.org/works/...`:
  /flaky429/  first request of each URL: 429 with Retry-After: 7, then the recording
  /flaky503/  first request of each URL: 503 without Retry-After, then the recording
  /down/      always 503 with Retry-After: 1
  /truncated/ the recording with its body cut in half
  /onebad/    the recording with one record broken (JSON: the second item of its result
              list, or of a bare list, becomes {"corrupted": true}; XML: the first <title> is removed)
  /wrongshape/  200 JSON whose fields have the wrong types, for any path
  /bomb/      200 XML entity bomb (billion laughs), for any path
  /huge/      200 with a 50 MB body, for any path
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from questlog.replay.server import Reply, ReplayServer, Request

IGNORED = frozenset({"fields", "mailto", "email", "select", "api_key"})
OPTIONAL = frozenset({"offset", "limit", "rows", "per-page", "per_page", "sort", "order"})
INDEXES = ("semanticscholar/decoded", "crossref/decoded", "paperqa_mixed/decoded")
HUGE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Recording:
    file: Path
    method: str
    host: str
    path: str
    params: dict[str, tuple[str, ...]]
    status: int
    content_type: str
    request_body: object = None  # parsed JSON of a recorded POST, where the cassette kept it

    def reply(self) -> Reply:
        return Reply(self.status, self.file.read_bytes(), self.content_type or "application/json")


def _norm_path(path: str) -> str:
    return unquote(path).rstrip("/") or "/"


def _norm_body(body: object) -> object:
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if v not in (None, [], {}, "")}
    return body


class RecordedAPIs:
    """The recordings of every INDEX.jsonl under `samples`, served by host."""

    def __init__(self, samples: Path, prefer: tuple[str, ...] = ()) -> None:
        self.samples = Path(samples)
        self.prefer = prefer
        self.recordings: list[Recording] = []
        self._served: dict[tuple, int] = {}
        self._lock = threading.Lock()  # the server answers on several threads
        self._hostile: list[_Hostile] = []
        for index in INDEXES:
            folder = self.samples / index
            for line in (folder / "INDEX.jsonl").read_text().splitlines():
                if line.strip():
                    self.recordings.append(self._load(folder, json.loads(line)))
        self.openalex_works = _openalex_works(r for r in self.recordings if r.host == "api.openalex.org")

    def _load(self, folder: Path, entry: dict) -> Recording:
        uri = urlsplit(entry["uri"])
        body = None
        if entry["method"] == "POST":
            body = _cassette_request_body(folder.parent / "cassettes", entry["file"])
        return Recording(folder / entry["file"], entry["method"], uri.netloc, _norm_path(uri.path),
                         {k: tuple(v) for k, v in parse_qs(uri.query, keep_blank_values=True).items()},
                         int(entry["status"]), entry.get("content_type") or "", body)

    def reset(self) -> None:
        """Forget what was served (cassette positions, first requests of the flaky prefixes): for a
        server shared by several tests."""
        self._served.clear()
        for hostile in self._hostile:
            hostile.seen.clear()

    @property
    def hosts(self) -> list[str]:
        return sorted({r.host for r in self.recordings})

    def mount(self, server: ReplayServer) -> None:
        """Route every recorded host, the arXiv OAI-PMH endpoint and the hostile prefixes."""
        for host in self.hosts:
            server.route(f"/{host}", lambda req, host=host: self.answer(host, _strip(req, f"/{host}")))
        server.route("/export.arxiv.org/oai2", ArxivOai(self.samples / "arxiv_oaipmh").answer)
        wrap = _Hostile(server)
        self._hostile.append(wrap)
        for name in ("flaky429", "flaky503", "down", "truncated", "onebad", "wrongshape", "bomb", "huge"):
            server.route(f"/{name}/", lambda req, name=name: getattr(wrap, name)(_strip(req, f"/{name}")))

    def answer(self, host: str, req: Request) -> Reply:
        if host == "api.openalex.org" and re.fullmatch(r"/works/W\d+", _norm_path(req.path)):
            work = next((w for w in self.openalex_works if w["id"].endswith(_norm_path(req.path)[6:])), None)
            return Reply(200, json.dumps(work).encode()) if work else Reply(404, b'{"error": "Not found"}')
        if host == "api.openalex.org" and _norm_path(req.path) == "/works" and (
                "search" in req.query or "cursor" in req.query or re.search(r"cite[sd]", req.arg("filter") or "")):
            return _openalex_list(self.openalex_works, req)
        best, score = [], None
        for rec in self.recordings:
            s = self._score(rec, host, req)
            if s is not None and (score is None or s > score):
                best, score = [rec], s
            elif s is not None and s == score:
                best.append(rec)
        if not best:
            return Reply(404, f"no recording for {req.method} {host}{req.path}?{req.query}".encode(), "text/plain")
        best.sort(key=lambda r: not any(r.file.name.startswith(p) for p in self.prefer))
        key = (host, req.method, _norm_path(req.path), tuple(sorted((k, tuple(v)) for k, v in req.query.items())))
        with self._lock:
            n = self._served.get(key, 0)
            self._served[key] = n + 1
        return best[min(n, len(best) - 1)].reply()

    def _score(self, rec: Recording, host: str, req: Request) -> tuple[int, int] | None:
        if rec.host != host or rec.method != req.method or rec.path != _norm_path(req.path):
            return None
        if rec.request_body is not None:
            try:
                if _norm_body(json.loads(req.body or b"null")) != _norm_body(rec.request_body):
                    return None
            except ValueError:
                return None
        agree = one_sided = 0
        for name in (set(rec.params) | set(req.query)) - IGNORED:
            mine, theirs = req.query.get(name), rec.params.get(name)
            if mine is not None and theirs is not None:
                if tuple(mine) != theirs:
                    return None
                agree += 1
            elif name in OPTIONAL:
                one_sided += 1
            else:
                return None
        return agree, -one_sided


def _strip(req: Request, prefix: str) -> Request:
    return replace(req, path=req.path[len(prefix):] or "/")


def _cassette_request_body(cassettes: Path, decoded_name: str) -> object:
    """The JSON body of interaction N of cassette NAME, for decoded file NAME__N.json (vcrpy dialect)."""
    m = re.match(r"(.+)__(\d+)\.\w+$", decoded_name)
    if not m or not (cassettes / f"{m.group(1)}.yaml").exists():
        return None
    try:
        import yaml
    except ImportError:  # without PyYAML a POST matches on its URL alone
        return None
    interactions = yaml.safe_load((cassettes / f"{m.group(1)}.yaml").read_text()).get("interactions", [])
    request = interactions[int(m.group(2))]["request"] if int(m.group(2)) < len(interactions) else {}
    body = request.get("body") or request.get("content")
    body = body.get("string") if isinstance(body, dict) else body
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


# -- OpenAlex: a small fake over the recorded Work objects ------------------------------------

def _openalex_works(recordings) -> list[dict]:
    works: dict[str, dict] = {}
    for rec in recordings:
        if rec.status != 200 or "select" in rec.params:
            continue
        body = json.loads(rec.file.read_bytes())
        for work in body.get("results", [body]):
            if work.get("id") and work.get("title"):
                works.setdefault(work["id"], work)
    return sorted(works.values(), key=lambda w: (w.get("publication_date") or "", w["id"]), reverse=True)


def _openalex_list(works: list[dict], req: Request) -> Reply:
    chosen = works
    for clause in filter(None, (req.arg("filter") or "").split(",")):
        name, _, value = clause.partition(":")
        full = value if value.startswith("https://") else f"https://openalex.org/{value}"
        tests = {
            "cites": lambda w: full in w.get("referenced_works", []),
            "cited_by": lambda w: w["id"] in next((x.get("referenced_works", []) for x in works if x["id"] == full),
                                                  []),
            "from_publication_date": lambda w: (w.get("publication_date") or "") >= value,
            "to_publication_date": lambda w: (w.get("publication_date") or "9999") <= value,
            "title.search": lambda w: value.lower() in w["title"].lower(),
        }
        if name not in tests:
            return Reply(400, json.dumps({"error": f"Invalid query parameters error. {name} is not a valid field"})
                         .encode())
        chosen = [w for w in chosen if tests[name](w)]
    for term in (req.arg("search") or "").lower().split():
        chosen = [w for w in chosen if term in (w["title"] + " " + " ".join(w.get("abstract_inverted_index") or {}))
                  .lower()]
    per_page = int(req.arg("per-page") or req.arg("per_page") or 25)
    cursor = req.arg("cursor")
    try:
        start = 0 if cursor in (None, "*") else int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError:
        return Reply(400, b'{"error": "Invalid cursor", "message": "cursor is not valid"}')
    page = chosen[start:start + per_page]
    more = cursor is not None and start + per_page < len(chosen)
    meta = {"count": len(chosen), "db_response_time_ms": 1, "page": None if cursor else 1, "per_page": per_page,
            "next_cursor": base64.urlsafe_b64encode(str(start + per_page).encode()).decode() if more else None}
    return Reply(200, json.dumps({"meta": meta, "results": page, "group_by": []}).encode())


# -- arXiv OAI-PMH ----------------------------------------------------------------------------

_RECORDED_TOKEN = "726959|1001"
_LAST_RECORDED_DAY = "2015-01-06"
_SETS = {"cs", "econ", "eess", "math", "nlin", "q-bio", "q-fin", "stat", "physics"}


class ArxivOai:
    """Answers OAI-PMH requests with the recorded files of arxiv_oaipmh/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, name: str, status: int = 200) -> Reply:
        return Reply(status, (self.folder / name).read_bytes(), "text/xml")

    def _error(self, code: str, text: str) -> Reply:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                f'<responseDate>2015-06-23T13:25:21Z</responseDate><request>http://export.arxiv.org/oai2</request>'
                f'<error code="{code}">{text}</error></OAI-PMH>')
        return Reply(200, body.encode(), "text/xml")

    def answer(self, req: Request) -> Reply:
        verb, args = req.arg("verb"), set(req.query) - {"verb"}
        if verb == "GetRecord":
            if req.arg("identifier") == "oai:arXiv.org:1302.2146":
                return self._file("GetRecordResponse.xml")
            return self._file("ErrorResponseIdDoesNotExist.xml")
        if verb != "ListRecords":
            return self._file("ErrorResponseBadVerb.xml")
        token = req.arg("resumptionToken")
        if token is not None:
            if args != {"resumptionToken"}:
                return self._file("ErrorResponseBadArgument.xml")
            return self._last_page() if token == _RECORDED_TOKEN else self._file("ErrorResponseBadResumptionToken.xml")
        if not args <= {"metadataPrefix", "set", "from", "until"} or "metadataPrefix" not in args:
            return self._file("ErrorResponseBadArgument.xml")
        if req.arg("metadataPrefix") != "arXivRaw":
            return self._error("cannotDisseminateFormat", "only arXivRaw was recorded")
        unknown_set = req.arg("set") and req.arg("set").split(":")[0] not in _SETS
        if unknown_set or (req.arg("from") or "") > _LAST_RECORDED_DAY:
            return self._file("ErrorResponseNoRecordsMatch.xml")
        return self._file("ListRecordsResponse.xml")

    def _last_page(self) -> Reply:
        listing = (self.folder / "ListRecordsResponse.xml").read_text()
        record = re.search(r"<record>.*</record>", (self.folder / "GetRecordResponse.xml").read_text(), re.S).group(0)
        head, tail = listing.index("<ListRecords>") + len("<ListRecords>"), listing.index("</ListRecords>")
        last = '\n<resumptionToken cursor="1001" completeListSize="58011"></resumptionToken>\n'
        return Reply(200, (listing[:head] + "\n" + record + last + listing[tail:]).encode(), "text/xml")


# -- hostile responses ------------------------------------------------------------------------

_BOMB = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
         + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
         + ']>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>&lol9;</ListRecords></OAI-PMH>\n'
         ).encode()
_WRONG_SHAPE = json.dumps({"data": "not a list", "results": 7, "message": ["no"], "recommendedPapers": {},
                           "paperId": 12, "title": None, "next": "soon", "meta": "none"}).encode()
_huge: list[bytes] = []


class _Hostile:
    def __init__(self, server: ReplayServer) -> None:
        self.server = server
        self.seen: set[tuple] = set()
        self._lock = threading.Lock()

    def _first(self, req: Request) -> bool:
        key = (req.method, req.path, tuple(sorted((k, tuple(v)) for k, v in req.query.items())))
        with self._lock:
            first = key not in self.seen
            self.seen.add(key)
        return first

    def flaky429(self, req: Request) -> Reply:
        if self._first(req):
            return Reply(429, b'{"message": "Too Many Requests"}', headers={"Retry-After": "7"})
        return self.server.dispatch(req)

    def flaky503(self, req: Request) -> Reply:
        return Reply(503, b"Service Unavailable", "text/plain") if self._first(req) else self.server.dispatch(req)

    def down(self, req: Request) -> Reply:
        return Reply(503, b"Service Unavailable", "text/plain", headers={"Retry-After": "1"})

    def truncated(self, req: Request) -> Reply:
        reply = self.server.dispatch(req)
        return Reply(reply.status, reply.body[: len(reply.body) // 2], reply.content_type)

    def onebad(self, req: Request) -> Reply:
        reply = self.server.dispatch(req)
        if reply.body.lstrip().startswith(b"<"):
            return Reply(reply.status, re.sub(rb"<title>.*?</title>", b"", reply.body, count=1, flags=re.S),
                         reply.content_type)
        body = json.loads(reply.body)
        if isinstance(body, list) and len(body) > 1:  # a bare list of records (S2's batch)
            body[1] = {"corrupted": True}
        elif isinstance(body, dict):
            holder = body["message"] if isinstance(body.get("message"), dict) else body
            for name in ("data", "results", "items", "recommendedPapers"):
                if isinstance(holder.get(name), list) and len(holder[name]) > 1:
                    holder[name][1] = {"corrupted": True}
                    break
        return Reply(reply.status, json.dumps(body).encode(), reply.content_type)

    def wrongshape(self, req: Request) -> Reply:
        return Reply(200, _WRONG_SHAPE)

    def bomb(self, req: Request) -> Reply:
        return Reply(200, _BOMB, "text/xml")

    def huge(self, req: Request) -> Reply:
        if not _huge:
            _huge.append(b"{" + b" " * (HUGE_BYTES - 2) + b"}")
        return Reply(200, _huge[0])
