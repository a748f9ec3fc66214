"""A conclusion's Markdown as HTML: raw HTML in it is escaped (never passed through), links keep only
safe schemes (markdown-it's own check), and each `[@E1a2b3c4d]` becomes a link to the cited card
whose tooltip is the link's rationale (its passage's opening when it has none)."""

from __future__ import annotations

from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markupsafe import Markup

from shared.ledger import EvidenceView
from shared.ledger.workbench import CITATION, cite_key


def _citation(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("[@E", state.pos):
        return False
    m = CITATION.match(state.src, state.pos)
    if m is None:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.meta = {"prefix": m.group(1).lower()}
    state.pos = m.end()
    return True


def _render_citation(self, tokens, idx, options, env) -> str:
    prefix = tokens[idx].meta["prefix"]
    hits = [v for v in env["links"] if len(prefix) >= 6 and v.id.startswith(prefix)]
    label = escapeHtml(f"[@E{prefix}]")
    if len(hits) != 1:
        return f'<span class="cite missing" title="no longer among this question\'s links">{label}</span>'
    link = hits[0]
    tip = link.rationale or (link.passage[:280] + ("…" if len(link.passage) > 280 else ""))
    where = f" ({link.where})" if link.where else ""
    return (f'<a class="cite" href="{escapeHtml(env["base"])}#e-{escapeHtml(link.id)}" '
            f'data-cite="{escapeHtml(cite_key(link.id))}" title="{escapeHtml(tip + " — " + link.title + where)}">'
            f"{label}</a>")


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.inline.ruler.before("link", "citation", _citation)
_md.add_render_rule("citation", _render_citation)


def render_conclusion(text: str, links: Iterable[EvidenceView], base: str) -> Markup:
    """HTML for `text`; `links` are the question's evidence, `base` the question page's path."""
    return Markup(_md.render(text, {"links": list(links), "base": base}))
