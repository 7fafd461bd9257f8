from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import translation
from hypothesis import settings

# Property tests: "ci" (the default) runs a fixed set of examples, the same every run, so CI is
# fast and never flaky; HYPOTHESIS_PROFILE=deep searches far wider, for a night or a release.
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True)
settings.register_profile("deep", max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
