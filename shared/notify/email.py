"""Digests by SMTP. The Message-ID is derived from the digest id, so mail clients can spot a duplicate."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from shared.notify.base import DeliveryError, Digest
from shared.settings import DigestSettings


class EmailNotifier:
    name = "email"

    def __init__(self, settings: DigestSettings) -> None:
        self.settings = settings

    def message(self, digest: Digest) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = digest.subject
        msg["From"] = self.settings.email_from
        msg["To"] = ", ".join(self.settings.email_to)
        msg["Message-ID"] = f"<{digest.id}@questlog>"
        msg.set_content(digest.render_text())
        return msg

    def send(self, digest: Digest) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user and s.smtp_password:
                    smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
                smtp.send_message(self.message(digest))
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError("email", f"recipients refused: {err.recipients}", permanent=True) from err
        except smtplib.SMTPAuthenticationError as err:
            raise DeliveryError("email", "authentication failed", permanent=True) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError("email", f"{type(err).__name__}: {err}") from err
