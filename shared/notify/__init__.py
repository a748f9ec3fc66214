"""Delivery channels for digests: file (always), Slack and email when configured."""

from __future__ import annotations

from shared.notify.base import DeliveryError, Digest, DigestItem, Notifier
from shared.settings import Settings


def build_notifiers(settings: Settings) -> list[Notifier]:
    from shared.notify.file import FileNotifier

    out: list[Notifier] = [FileNotifier(settings.digest_dir, settings.digest.console)]
    if settings.slack.webhook_url:
        from shared.notify.slack import SlackNotifier

        out.append(SlackNotifier(settings.slack.webhook_url.get_secret_value(), settings.slack.timeout_s))
    if settings.smtp.host and settings.smtp.to:
        from shared.notify.email import EmailNotifier

        out.append(EmailNotifier(settings.smtp))
    return out


__all__ = ["DeliveryError", "Digest", "DigestItem", "Notifier", "build_notifiers"]
