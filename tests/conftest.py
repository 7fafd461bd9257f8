from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import timezone, translation
from hypothesis import settings
from time_machine import TimeMachineFixture

from kundeflyt.campaigns.calling_hours import OSLO, is_calling_day
from kundeflyt.common.configuration import forget

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
def no_cached_configuration() -> None:
    """Each test builds its own configuration; none may be served from an earlier test's."""
    forget()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Tests read messages in English; the Norwegian catalogue has tests of its own."""
    with translation.override("en"):
        yield


@pytest.fixture
def in_calling_hours(time_machine: TimeMachineFixture, db: None) -> None:
    """The clock at the next weekday noon in Oslo, ticking on, and the Reservasjonsregisteret
    loaded then. DESIGN.md rule 11 closes consumer (B2C) campaigns at night, at weekends and
    on holidays, and while the register is older than a month, and the suite runs at any
    hour: a test that takes or presents consumers without being about the rule asks for this."""
    now = timezone.now().astimezone(OSLO)
    day = now.date() if now.hour < 12 else now.date() + dt.timedelta(days=1)
    while not is_calling_day(day):
        day += dt.timedelta(days=1)
    time_machine.move_to(dt.datetime.combine(day, dt.time(12, 0), tzinfo=OSLO))
    register_loaded()


def register_loaded(*numbers: str) -> None:
    """The Reservasjonsregisteret loaded now, holding ``numbers`` (or a number no test uses)."""
    from kundeflyt.common.actors import Process
    from kundeflyt.privacy.register import RegisterFile, register_replace

    register = RegisterFile(set(numbers or ("+4759999999",)), 0)
    register_replace(Process("test-register"), file_name="register.txt", register=register)


from tests.world import World, world  # noqa: E402, F401
