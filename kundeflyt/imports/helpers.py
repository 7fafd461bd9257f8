"""What an import's helper processes run: they clean rows while the import writes.

A helper is started with ``spawn`` (a fresh interpreter, never a fork of a process holding a
database connection), so this module imports nothing of Django until ``start`` has set it up.
Helpers never touch the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kundeflyt.imports.cells import CleanRow, RowCleaner
    from kundeflyt.imports.files import Row

_CLEANER: RowCleaner | None = None


def start(
    header: list[str],
    mapping: dict[int, str],
    rest_field: str,
    generate_ids: bool,
    definitions: list[dict[str, Any]],
    language: str,
) -> None:
    """Django, the import's language, and the same cleaner as the import's."""
    import django

    django.setup()
    from django.utils import translation

    from kundeflyt.crm.models import FieldDefinition
    from kundeflyt.imports.cells import RowCleaner, targets

    global _CLEANER
    translation.activate(language)
    available = targets([FieldDefinition(**d) for d in definitions])
    _CLEANER = RowCleaner(
        header, mapping, available, rest_field=rest_field, generate_ids=generate_ids
    )


def clean(rows: list[Row]) -> list[CleanRow]:
    assert _CLEANER is not None, "start() runs first"
    return [_CLEANER.clean(cells) for cells in rows]
