"""Replay the shipped arXiv snapshot through arXiv's OAI-PMH interface (arXivRaw records).

Serves the OAI endpoint like oaipmh.arxiv.org/oai, for `ListRecords` and `GetRecord`:

    ?verb=ListRecords&metadataPrefix=arXivRaw&set=cs&from=2026-06-23&until=2026-06-24
    ?verb=ListRecords&resumptionToken=<token>           (no other argument allowed with it)
    ?verb=GetRecord&identifier=oai:arXiv.org:<id>&metadataPrefix=arXivRaw

A record's datestamp is its listing day; `from`/`until` select by it. Only papers
listed on or before the `ArxivReplay`'s simulated `today` exist (the same
visible-day rule as the Atom replay, which it shares), so the demo can advance
both APIs day by day. Pages hold `page_size` records; the resumption token
encodes where the next one starts. Errors are OAI's: noRecordsMatch,
badArgument, badResumptionToken, cannotDisseminateFormat, idDoesNotExist, badVerb.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from questlog.replay.arxiv import ArxivReplay, SnapshotPaper
from questlog.replay.server import Reply, Request
from shared.sources.arxiv_oai import PHYSICS

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
RAW_NS = "http://arxiv.org/OAI/arXivRaw/"


def set_of(category: str) -> str:
    """The OAI set an arXiv category is listed in: 'cs.CL' -> 'cs', 'hep-ph' -> 'physics:hep-ph'."""
    archive = category.split(".")[0]
    return f"physics:{archive}" if archive in PHYSICS else archive


class OaiReplay:
    """The handler; the visible papers and the simulated day come from `arxiv`."""

    def __init__(self, arxiv: ArxivReplay, page_size: int = 100) -> None:
        self.arxiv = arxiv
        self.page_size = page_size

    def __call__(self, req: Request) -> Reply:
        verb = req.arg("verb")
        if verb == "ListRecords":
            return self._list(req)
        if verb == "GetRecord":
            return self._get(req)
        return self._error(req, "badVerb", f"Illegal verb {verb!r}")

    def _list(self, req: Request) -> Reply:
        args = set(req.query) - {"verb"}
        token = req.arg("resumptionToken")
        if token is not None:
            if args != {"resumptionToken"}:
                return self._error(req, "badArgument", "resumptionToken must be the only argument")
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                spec, since, until, start = state["set"], state["from"], state["until"], int(state["start"])
            except (ValueError, KeyError, TypeError):
                return self._error(req, "badResumptionToken", f"The value of the resumptionToken argument is "
                                   f"invalid or expired: {token!r}")
        else:
            if not args <= {"metadataPrefix", "set", "from", "until"} or "metadataPrefix" not in args:
                return self._error(req, "badArgument", "ListRecords needs metadataPrefix and takes set, from, until")
            if req.arg("metadataPrefix") != "arXivRaw":
                return self._error(req, "cannotDisseminateFormat", "the replay serves arXivRaw only")
            spec, since, until, start = req.arg("set"), req.arg("from"), req.arg("until"), 0
            for day in (since, until):
                try:
                    if day:
                        date.fromisoformat(day)
                except ValueError:
                    return self._error(req, "badArgument", f"bad date {day!r}: expected YYYY-MM-DD")
        chosen = self._select(spec, since, until)
        if not chosen:
            return self._error(req, "noRecordsMatch", "The combination of the values of the from, until, set and "
                               "metadataPrefix arguments results in an empty list.")
        page = chosen[start:start + self.page_size]
        after = start + len(page)
        nxt = ""
        if after < len(chosen):
            nxt = base64.urlsafe_b64encode(json.dumps({"set": spec, "from": since, "until": until, "start": after})
                                           .encode()).decode()
        token_el = (f'<resumptionToken cursor="{start}" completeListSize="{len(chosen)}">{escape(nxt)}'
                    f"</resumptionToken>")
        body = "<ListRecords>" + "".join(_record(p) for p in page) + token_el + "</ListRecords>"
        return self._reply(req, body)

    def _get(self, req: Request) -> Reply:
        if req.arg("metadataPrefix") != "arXivRaw":
            return self._error(req, "cannotDisseminateFormat", "the replay serves arXivRaw only")
        ident = (req.arg("identifier") or "").removeprefix("oai:arXiv.org:")
        paper = next((p for p in self.arxiv.visible() if p.arxiv_id == ident), None)
        if paper is None:
            return self._error(req, "idDoesNotExist", f"{req.arg('identifier')!r} is unknown or illegal")
        return self._reply(req, f"<GetRecord>{_record(paper)}</GetRecord>")

    def _select(self, spec: str | None, since: str | None, until: str | None) -> list[SnapshotPaper]:
        chosen = []
        for p in self.arxiv.visible():
            day = p.listing_date.isoformat()
            if (since and day < since) or (until and day > until):
                continue
            if spec and not any(set_of(c) == spec or set_of(c).startswith(spec + ":") for c in p.categories):
                continue
            chosen.append(p)
        return sorted(chosen, key=lambda p: p.arxiv_id)  # arXiv lists by identifier, not by date

    def _now(self) -> str:
        day = self.arxiv.today
        stamp = datetime.combine(day, datetime.min.time(), timezone.utc) if day else datetime.now(timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _reply(self, req: Request, inner: str) -> Reply:
        return Reply(200, self._envelope(req, inner).encode("utf-8"), "text/xml")

    def _error(self, req: Request, code: str, text: str) -> Reply:
        return self._reply(req, f'<error code="{code}">{escape(text)}</error>')

    def _envelope(self, req: Request, inner: str) -> str:
        attrs = "".join(f" {k}={quoteattr(v[0])}" for k, v in sorted(req.query.items()) if v)
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI_NS}">'
                f"<responseDate>{self._now()}</responseDate><request{attrs}>http://oaipmh.arxiv.org/oai</request>"
                f"{inner}</OAI-PMH>")


def _record(p: SnapshotPaper) -> str:
    sets = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in dict.fromkeys(set_of(c) for c in p.categories))
    # arXivRaw lists the author string as submitted: 'A, B and C'
    authors = ", ".join(p.authors[:-1]) + (" and " if len(p.authors) > 1 else "") + (p.authors[-1] if p.authors else "")
    return (f"<record><header><identifier>oai:arXiv.org:{p.arxiv_id}</identifier>"
            f"<datestamp>{p.listing_date.isoformat()}</datestamp>{sets}</header><metadata>"
            f'<arXivRaw xmlns="{RAW_NS}"><id>{p.arxiv_id}</id>'
            f'<version version="v1"><date>{format_datetime(p.published, usegmt=True)}</date></version>'
            f"<title>{escape(p.title)}</title><authors>{escape(authors)}</authors>"
            f"<categories>{escape(' '.join(p.categories))}</categories>"
            f"<abstract>{escape(p.summary)}</abstract></arXivRaw></metadata></record>")
