"""The base of every settings group: a misspelled field is an error naming it, never ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SettingsGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")


# variables an earlier release read, and what replaced them: named in the start-up error
RENAMED = {
    "QUESTLOG_DIGEST__SLACK_WEBHOOK_URL": "QUESTLOG_SLACK__WEBHOOK_URL",
    "QUESTLOG_DIGEST__SMTP_HOST": "QUESTLOG_SMTP__HOST", "QUESTLOG_DIGEST__SMTP_PORT": "QUESTLOG_SMTP__PORT",
    "QUESTLOG_DIGEST__SMTP_USER": "QUESTLOG_SMTP__USER", "QUESTLOG_DIGEST__SMTP_PASSWORD": "QUESTLOG_SMTP__PASSWORD",
    "QUESTLOG_DIGEST__SMTP_STARTTLS": "QUESTLOG_SMTP__STARTTLS", "QUESTLOG_DIGEST__EMAIL_FROM": "QUESTLOG_SMTP__SENDER",
    "QUESTLOG_DIGEST__EMAIL_TO": "QUESTLOG_SMTP__TO",
    "QUESTLOG_DIGEST__TIMEOUT_S": "QUESTLOG_SLACK__TIMEOUT_S and QUESTLOG_SMTP__TIMEOUT_S",
}


def described(name: str) -> str:
    """A refused variable as the start-up error names it: with its new name when it was renamed."""
    return f"{name} (now {RENAMED[name]})" if name in RENAMED else name


def unknown_variables(model: type[BaseModel], environ: dict[str, str], prefix: str = "QUESTLOG_",
                      delimiter: str = "__") -> list[str]:
    """The `prefix`ed variables in `environ` that name no setting of `model` (nested groups by
    `delimiter`; a list or dict setting given as JSON is one name)."""
    unknown = []
    for name in sorted(environ):
        if not name.startswith(prefix):
            continue
        fields = model.model_fields
        for part in name[len(prefix):].lower().split(delimiter):
            field = fields.get(part)
            if field is None:
                unknown.append(name)
                break
            sub = field.annotation
            fields = sub.model_fields if isinstance(sub, type) and issubclass(sub, BaseModel) else {}
    return unknown
