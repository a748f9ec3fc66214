"""Bring an existing ledger up to the current schema, additively.

A ledger runs for months; a new release may add tables and columns. `create_all`
adds missing tables but never columns, so a ledger made by an older release would
fail on its first query. `upgrade` adds every column the models declare and the
database lacks, with the column's server-side default so old rows read sensibly.
It never drops or renames anything, and retypes only to widen: a text column the
models now declare longer than the database holds is widened on PostgreSQL (SQLite
does not enforce lengths). Anything else needs a written migration. Safe to run on
every start and from many processes at once (a column another process added meanwhile
is skipped).
"""

from __future__ import annotations

import logging

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from shared.ledger.models import Base

log = logging.getLogger(__name__)

# what a column added to a filled table starts as, where NULL would mislead: passages indexed before
# `linked_at` existed were linked by the release that indexed them (else all would be judged again)
FILL_ON_ADD = {"passages.linked_at": "UPDATE passages SET linked_at = indexed_at"}


def _default_sql(column) -> str:
    """The DEFAULT clause for a new column: NOT NULL columns need one to be added to a filled table."""
    default = column.default.arg if column.default is not None and column.default.is_scalar else None
    if default is None:
        return ""
    if isinstance(default, bool):
        return f" DEFAULT {'TRUE' if default else 'FALSE'}"
    if isinstance(default, (int, float)):
        return f" DEFAULT {default}"
    if isinstance(default, str):
        return " DEFAULT '" + default.replace("'", "''") + "'"
    return ""


def upgrade(engine: Engine) -> list[str]:
    """Create missing tables, add missing columns; returns 'table.column' for each column added."""
    Base.metadata.create_all(engine)
    added = []
    present = inspect(engine)
    for table in Base.metadata.sorted_tables:
        have = {c["name"] for c in present.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            ddl = column.type.compile(dialect=engine.dialect)
            nullable = "" if column.nullable or not _default_sql(column) else " NOT NULL"
            stmt = f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {ddl}{_default_sql(column)}{nullable}'
            try:
                with engine.begin() as conn:
                    conn.execute(text(stmt))
                    if f"{table.name}.{column.name}" in FILL_ON_ADD:
                        conn.execute(text(FILL_ON_ADD[f"{table.name}.{column.name}"]))
            except (OperationalError, ProgrammingError) as e:  # another process added it first
                if column.name not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                    raise
                log.debug("column %s.%s appeared meanwhile: %s", table.name, column.name, e)
                continue
            added.append(f"{table.name}.{column.name}")
    widened = _widen(engine) if engine.dialect.name == "postgresql" else []
    if added or widened:
        log.info("ledger upgraded: added %s; widened %s", ", ".join(added) or "nothing",
                 ", ".join(widened) or "nothing")
    return added + widened


def _widen(engine: Engine) -> list[str]:
    """ALTER each VARCHAR column shorter in the database than in the models (widening keeps every value)."""
    widened = []
    present = inspect(engine)
    for table in Base.metadata.sorted_tables:
        have = {c["name"]: c["type"] for c in present.get_columns(table.name)}
        for column in table.columns:
            want, got = getattr(column.type, "length", None), getattr(have.get(column.name), "length", None)
            if want and got and got < want:
                with engine.begin() as conn:
                    conn.execute(text(f'ALTER TABLE {table.name} ALTER COLUMN "{column.name}" TYPE VARCHAR({want})'))
                widened.append(f"{table.name}.{column.name}")
    return widened
