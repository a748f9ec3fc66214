"""The base of every settings group: a misspelled field is an error naming it, never ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SettingsGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
