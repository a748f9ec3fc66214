"""arXiv's PDF host replayed on loopback: `/pdf/<id>v<version>` answers with the PDF given for that id,
or 404 as arXiv does for a paper it has no PDF of. The demo gives it none (its snapshot holds
metadata only, and papers must not ship); tests give it real PDFs and hostile bodies."""

from __future__ import annotations

from questlog.replay.server import Reply, Request


class PdfReplay:
    def __init__(self, files: dict[str, Reply] | None = None) -> None:
        """`files`: the reply for each id as asked ("2501.10120v1")."""
        self.files = dict(files or {})

    def __call__(self, req: Request) -> Reply:
        wanted = req.path.rsplit("/", 1)[-1].removesuffix(".pdf")
        reply = self.files.get(wanted)
        if reply is None:
            return Reply(404, f"no PDF for {wanted} in this replay".encode(), "text/plain")
        return reply
