"""Digests by SMTP: plain text and an HTML alternative (a Jinja2 template, autoescaped: a paper's title
cannot inject markup). The Message-ID is derived from the digest id, so mail clients can spot a duplicate."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from jinja2 import Environment, PackageLoader, select_autoescape

from shared.notify.base import DeliveryError, Digest
from shared.settings import SmtpSettings

_TEMPLATES = Environment(loader=PackageLoader("shared.notify", "templates"), autoescape=select_autoescape(["html"]))


def render_html(digest: Digest) -> str:
    since = digest.window_start.strftime("%Y-%m-%d %H:%M") if digest.window_start else "the start"
    return _TEMPLATES.get_template("digest.html").render(digest=digest, since=since)


class EmailNotifier:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def message(self, digest: Digest) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = digest.subject
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.to)
        msg["Message-ID"] = f"<{digest.id}@questlog>"
        msg.set_content(digest.render_text())
        msg.add_alternative(render_html(digest), subtype="html")
        return msg

    def send(self, digest: Digest) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.user and s.password:
                    smtp.login(s.user, s.password.get_secret_value())
                smtp.send_message(self.message(digest))
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError("email", f"recipients refused: {err.recipients}", permanent=True) from err
        except smtplib.SMTPAuthenticationError as err:
            raise DeliveryError("email", "authentication failed", permanent=True) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError("email", f"{type(err).__name__}: {err}") from err
