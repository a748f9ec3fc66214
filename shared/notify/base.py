"""What a digest is, and the one interface every delivery channel implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.errors import QuestlogError


@dataclass(frozen=True)
class DigestItem:
    paper_key: str
    title: str
    url: str | None
    score: float
    stance: str
    rationale: str
    passage: str
    evidence_id: str
    answer: str = ""  # yes | no | mixed | unclear for a yes/no question, else ""
    where: str = ""  # a body passage's place: "p. 7, §5.2 Main Results"; "" for an abstract
    pdf_url: str | None = None  # the PDF at that page
    page_url: str | None = None  # the link's page in the workbench (QUESTLOG_WEB__PUBLIC_URL set), else None
    # the judge's calibrated probability that the paper is evidence for the question (moved by the question's
    # verdicts when it has some); None where the score is no probability (the cosine gate)
    chance: float | None = None

    def decide_url(self, decision: str) -> str | None:
        """The workbench page that asks to accept or reject this link (a GET there changes nothing)."""
        return f"{self.page_url}?do={decision}" if self.page_url else None

    @property
    def label(self) -> str:
        """What the paper says on the question: its answer (yes/no questions), its stance (a claim it
        supports or contradicts), else "evidence" (an open question)."""
        return self.answer or (self.stance if self.stance in ("supports", "contradicts") else "evidence")

    @property
    def sureness(self) -> str:
        """How sure the judge is, in words a reader weighs at a glance: "likely" (a probability of 0.5 or
        more), "possible" (0.25 or more), else "weak match"; "" without a probability. Fixed words for
        fixed shares of a calibrated probability, not tuned on any set."""
        if self.chance is None:
            return ""
        return "likely" if self.chance >= 0.5 else "possible" if self.chance >= 0.25 else "weak match"

    @property
    def tag(self) -> str:
        """The label and, with a probability, the sureness: "yes · weak match"."""
        return f"{self.label} · {self.sureness}" if self.sureness else self.label


@dataclass(frozen=True)
class Digest:
    id: str
    question_id: int
    question: str
    window_start: datetime | None
    window_end: datetime
    items: tuple[DigestItem, ...]

    @property
    def subject(self) -> str:
        return f"questlog: {len(self.items)} new evidence for Q{self.question_id}: {self.question[:80]}"

    def render_text(self) -> str:
        since = self.window_start.strftime("%Y-%m-%d %H:%M") if self.window_start else "the start"
        lines = [f"Q{self.question_id}: {self.question}",
                 f"New evidence since {since} (until {self.window_end:%Y-%m-%d %H:%M} UTC): {len(self.items)} paper{'' if len(self.items) == 1 else 's'}",
                 ""]
        for n, it in enumerate(self.items, 1):
            lines.append(f"{n}. [{it.tag}] {it.title} ({it.paper_key}, score {it.score:.2f})")
            if it.url:
                lines.append(f"   {it.url}")
            if it.where:
                lines.append(f"   {it.where}" + (f" — {it.pdf_url}" if it.pdf_url else ""))
            if it.page_url:
                lines.append(f"   review: {it.page_url}  (accept: {it.decide_url('accept')}  "
                             f"reject: {it.decide_url('reject')})")
            quote = it.rationale or it.passage
            lines.append(f"   \u201c{quote[:300]}{'…' if len(quote) > 300 else ''}\u201d")
        lines.append(f"\ndigest {self.id}")
        return "\n".join(lines)


class DeliveryError(QuestlogError):
    """A channel failed. permanent=True: retrying cannot help (a revoked webhook, a refused address)."""

    def __init__(self, channel: str, message: str, permanent: bool = False):
        super().__init__(f"{channel}: {message}")
        self.channel = channel
        self.permanent = permanent


class Notifier(Protocol):
    name: str

    def send(self, digest: Digest) -> None:
        """Deliver the digest once. Raises DeliveryError."""
