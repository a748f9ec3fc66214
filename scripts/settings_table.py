"""Print every setting as a Markdown table row (the README's settings table is this output)."""

from __future__ import annotations

from pydantic import BaseModel

from shared.settings import Settings


def rows(model: type[BaseModel] = Settings, prefix: str = "") -> list[tuple[str, str, str]]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += rows(ann, f"{prefix}{name}__")
            continue
        default = field.default_factory() if field.default_factory else field.default
        if isinstance(default, list) and default and isinstance(default[0], BaseModel):
            default = [d.model_dump() for d in default]
        out.append((f"QUESTLOG_{prefix}{name}".upper(), repr(default), field.description or ""))
    return out


if __name__ == "__main__":
    print("| variable | default | meaning |\n|---|---|---|")
    for env, default, desc in rows():
        print(f"| `{env}` | `{default}` | {desc} |")
