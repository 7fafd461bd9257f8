"""Many new rows at once with PostgreSQL's ``COPY … FROM STDIN``: a tenth of what the ORM's
``bulk_create`` costs to build for each row. For imports and give-outs of whole files, where
every value was checked before (the caller's services); elsewhere ``bulk_create`` does it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


def copy_is_available() -> bool:
    return connection.vendor == "postgresql"


def next_ids(model: type[Model], count: int) -> list[int]:
    """``count`` primary keys taken from the table's sequence, for rows written by COPY."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_insert(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    same: Mapping[str, Any] | None = None,
) -> None:
    """Write ``rows`` (a value per attribute in ``columns``) into the model's table, with the
    values in ``same`` in every row and each other column's model default (a field without
    one must be nullable). Inside the caller's transaction; a constraint the rows break
    raises Django's ``IntegrityError``, as ``bulk_create`` would."""
    same = dict(same or {})
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = (set(columns) | set(same)) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no column for {sorted(unknown)}")
    for attname, field in fields.items():
        if attname not in same and attname not in columns and not field.primary_key:
            same[attname] = field.get_default()
    tail = tuple(same.values())
    names = [fields[name].column for name in (*columns, *same)]
    quote = connection.ops.quote_name
    statement = (
        f"COPY {quote(model._meta.db_table)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    )
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own, for COPY; its errors become Django's
        with connection.wrap_database_errors, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row((*row, *tail))


class GrowingTables:
    """Keeps PostgreSQL's row counts of tables a long write grows up to date. The planner
    reads them: while it believes a customer table nearly empty, it finds a piece's customer
    ids by reading every customer of the CRM (40 ms a piece at 150,000 customers, growing
    with them) instead of probing the unique index (3 ms). Autovacuum catches up within a
    minute where it runs; this does not wait for it. ``ANALYZE`` each time the tables have
    grown by what they held at the last one: a few times for a million rows."""

    FIRST_AFTER = 5_000  # rows; below this the planner's guess does not matter

    def __init__(self, *models: type[Model]) -> None:
        self.models = models
        self.active = copy_is_available()
        self.known = self._estimate() if self.active else 0
        self.grown = 0

    def _estimate(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
                [self.models[0]._meta.db_table],
            )
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def grew(self, rows: int) -> None:
        """``rows`` more were committed; refresh the statistics when they count."""
        self.grown += rows
        if not self.active or self.grown < max(self.known, self.FIRST_AFTER):
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model in self.models:
                cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")
        self.known += self.grown
        self.grown = 0
