from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import translation


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Tests read messages in English; the Norwegian catalogue has tests of its own."""
    with translation.override("en"):
        yield


from tests.world import World, world  # noqa: E402, F401
