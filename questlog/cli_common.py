"""What every `questlog` command shares: the consoles, the settings and the ledger as a command
opens them, the one way a command fails, and the connection to a running pipeline.

Its own module so the command modules (`cli`, `cli_add`, `cli_dead`, `cli_eval`, `cli_export`) and the
reports they print import it and never each other: no import circle.
"""

from __future__ import annotations

import typer
from rich.console import Console

from shared.ledger import Ledger
from shared.settings import Settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def settings() -> Settings:
    """The settings, or a one-line error naming what is wrong with them (exit 2)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings()
    except ValidationError as e:
        fail("; ".join(("" if not x["loc"] else ".".join(map(str, x["loc"])) + ": ")
                       + x["msg"].removeprefix("Value error, ") for x in e.errors()))
    except SettingsError as e:
        fail(f"{e} ({e.__cause__})" if e.__cause__ else str(e))


def ledger(create: bool = False) -> Ledger:
    """The ledger. Only commands that add something (`create`) make a data directory: reading one
    that does not exist says so instead of leaving an empty one behind."""
    s = settings()
    if s.data_dir.exists() and not s.data_dir.is_dir():
        fail(f"the data directory {s.data_dir} is a file, not a directory")
    sqlite_file = s.data_dir / "ledger.sqlite3"
    if not create and s.ledger.url is None and not sqlite_file.exists():
        err.print(f"note: no questlog data in {s.data_dir.resolve()} yet (`questlog ask` or `questlog up` starts it)")
        return Ledger("sqlite://")  # an empty ledger in memory: reads find nothing, nothing is written to disk
    s.data_dir.mkdir(parents=True, exist_ok=True)
    return Ledger(s.ledger_url)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def pipeline_or_none(s: Settings):
    """A connection to the running pipeline, or None when no broker answers."""
    from questlog.client import Pipeline
    from shared.broker import answers, resolve_broker

    url = resolve_broker(s)
    if url is None or not answers(url):
        return None
    return Pipeline(s, url)
