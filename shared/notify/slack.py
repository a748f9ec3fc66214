"""Slack incoming webhooks (https://api.slack.com/messaging/webhooks)."""

from __future__ import annotations

import httpx

from shared.notify.base import DeliveryError, Digest


def escape(text: str) -> str:
    """Slack mrkdwn control characters escaped (https://api.slack.com/reference/surfaces/formatting#escaping):
    a paper titled "<!channel> ..." must not ping the channel, nor "<http://x|click>" become a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link_url(url: str) -> str:
    # inside <url|text> a "|" or ">" would end the link early
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


class SlackNotifier:
    name = "slack"

    def __init__(self, webhook_url: str, timeout_s: float = 20.0, client: httpx.Client | None = None) -> None:
        self._url = webhook_url
        self.client = client or httpx.Client(timeout=timeout_s)

    def payload(self, digest: Digest) -> dict:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": f"Q{digest.question_id}: "
                                                                            f"{digest.question[:140]}"}}]
        for it in digest.items:
            title = escape(it.title)
            link = f"<{_link_url(it.url)}|{title}>" if it.url else title
            quote = escape((it.rationale or it.passage)[:280])
            where = f", {escape(it.where)}" if it.where else ""
            head = f"*[{escape(it.tag)}]* {link} ({escape(it.paper_key)}{where}, {it.score:.2f})"
            if it.page_url:
                head += (f"  <{_link_url(it.decide_url('accept'))}|Accept> · <{_link_url(it.decide_url('reject'))}"
                         "|Reject>")
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"{head}\n> {quote}"}})
        return {"text": digest.subject, "blocks": blocks[:50]}

    def send(self, digest: Digest) -> None:
        try:
            r = self.client.post(self._url, json=self.payload(digest))
        except httpx.HTTPError as err:
            raise DeliveryError("slack", f"{type(err).__name__}: {err}") from err
        if r.status_code >= 500 or r.status_code == 429:
            raise DeliveryError("slack", f"HTTP {r.status_code}")
        if r.status_code >= 400:  # invalid_token, channel_not_found, ...: retrying cannot help
            raise DeliveryError("slack", f"HTTP {r.status_code}: {r.text[:200]}", permanent=True)
