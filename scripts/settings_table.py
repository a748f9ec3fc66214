"""Every setting as a Markdown table: printed, or written into the README (`--write`)."""

from __future__ import annotations

import sys
from pathlib import Path

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


def table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{env}` | `{default}` | {desc} |" for env, default, desc in rows()]
    return "\n".join(lines)


def write_readme(path: Path = Path(__file__).resolve().parents[1] / "README.md") -> None:
    """Replace the table between the settings markers in the README."""
    text = path.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table()}\n{END}{tail}")


START, END = "<!-- settings:start -->", "<!-- settings:end -->"

if __name__ == "__main__":
    if "--write" in sys.argv:
        write_readme()
    else:
        print(table())
