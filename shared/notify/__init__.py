"""Delivery channels for digests: file (always), Slack and email when configured."""

from __future__ import annotations

from shared.notify.base import DeliveryError, Digest, DigestItem, Notifier
from shared.settings import Settings


def build_notifiers(settings: Settings) -> list[Notifier]:
    from shared.notify.file import FileNotifier

    out: list[Notifier] = [FileNotifier(settings.digest_dir, settings.digest.console)]
    if settings.digest.slack_webhook_url:
        from shared.notify.slack import SlackNotifier

        out.append(SlackNotifier(settings.digest.slack_webhook_url.get_secret_value(), settings.digest.timeout_s))
    if settings.digest.smtp_host and settings.digest.email_to:
        from shared.notify.email import EmailNotifier

        out.append(EmailNotifier(settings.digest))
    return out


__all__ = ["DeliveryError", "Digest", "DigestItem", "Notifier", "build_notifiers"]
