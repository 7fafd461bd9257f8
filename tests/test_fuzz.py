"""Every form and htmx endpoint against generated input (issue 9): whatever arrives — NUL
bytes, huge numbers, years 1 and 9999, unknown ids, wrong types — the answer is never a
server error, and a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.messages import ERROR, get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.handling.services import customer_select, outcome_register
from tests.world import World

# A quarter of the profile's examples per endpoint: the ci profile stays well under a minute.
EXAMPLES = max(10, hypothesis_settings().max_examples // 4)

STRANGE = [
    "",
    "0",
    "-1",
    "abc",
    "²",
    "٣",
    "1e999999",
    "9" * 40,
    "9" * 5000,
    "NaN",
    "sNaN",
    "Infinity",
    "12,5",
    "\x00",
    "Kari\x00Nordmann",
    "x" * 6000,
    "0001-01-01T00:30",
    "9999-12-31T23:59",
    "2026-02-30T10:00",
    "javascript:alert(1)",
    "https://evil.example/",
    "<script>alert(1)</script>",
    "shared",
    "list",
    "stay",
    "on",
]
values = st.one_of(st.sampled_from(STRANGE), st.text(max_size=30), st.integers().map(str))


@dataclass(frozen=True)
class Door:
    """An endpoint, the parameters it reads, and how to build its URL from the world."""

    name: str
    method: str
    params: tuple[str, ...]
    url: Callable[[World, dict[str, int]], str]
    htmx: bool = False


def _details(name: str) -> Callable[[World, dict[str, int]], str]:
    return lambda world, ids: reverse(f"handling:{name}", args=[ids["customer"]])


def _event(name: str) -> Callable[[World, dict[str, int]], str]:
    return lambda world, ids: reverse(f"handling:{name}", args=[ids["event"]])


DOORS = [
    Door(
        "work_start", "post", ("campaign", "segment"), lambda w, i: reverse("handling:work_start")
    ),
    Door("work_next", "post", (), lambda w, i: reverse("handling:work_next")),
    Door("customer_take", "post", ("back",), _details("customer_take")),
    Door(
        "screen_renew",
        "post",
        ("customer", "token"),
        lambda w, i: reverse("handling:screen_renew"),
        htmx=True,
    ),
    Door(
        "outcome_save",
        "post",
        (
            "customer",
            "token",
            "outcome",
            "option",
            "comment",
            "follow_up_at",
            "follow_up_user",
            "then",
            "meeting_at",
            "meeting_minutes",
            "meeting_place",
            "product_qty_1",
            "product_price_1",
            "extra_x",
        ),
        lambda w, i: reverse("handling:outcome_save"),
        htmx=True,
    ),
    Door(
        "outcome_fields",
        "get",
        ("outcome",),
        lambda w, i: reverse("handling:outcome_fields"),
        htmx=True,
    ),
    Door(
        "customer_fields",
        "post",
        ("name", "phone1", "email", "employees", "industry", "org_number"),
        _details("customer_fields"),
        htmx=True,
    ),
    Door(
        "customer_field_name",
        "post",
        ("value",),
        lambda w, i: reverse("handling:customer_field", args=[i["customer"], "name"]),
        htmx=True,
    ),
    Door(
        "customer_field_employees",
        "post",
        ("value",),
        lambda w, i: reverse("handling:customer_field", args=[i["customer"], "employees"]),
        htmx=True,
    ),
    Door(
        "customer_follow_up",
        "post",
        ("follow_up_at", "follow_up_user"),
        _details("customer_follow_up"),
    ),
    Door("customer_move", "post", ("campaign", "segment"), _details("customer_move")),
    Door(
        "event_send_for_correction",
        "post",
        ("to_user", "reason", "allowed"),
        _event("event_send_for_correction"),
    ),
    Door("event_correct", "post", ("as",), _event("event_correct")),
    Door(
        "event_report_facts",
        "post",
        ("included", "counts_for_user", "counts_at"),
        _event("event_report_facts"),
    ),
    Door(
        "selection_release",
        "post",
        (),
        lambda w, i: reverse("handling:selection_release", args=[i["customer"]]),
    ),
    Door("correction_withdraw", "post", (), _details("correction_withdraw")),
    Door(
        "campaign_follow_ups_reassign",
        "post",
        ("to_user",),
        lambda w, i: reverse("handling:campaign_follow_ups_reassign", args=[w.campaign.pk]),
    ),
    Door(
        "customer_new",
        "post",
        ("customer_id", "name", "phone1", "email", "employees", "industry", "segment", "then"),
        lambda w, i: reverse("handling:customer_new", args=[w.campaign.pk]),
    ),
    Door(
        "crm_customers",
        "get",
        ("campaign", "segment", "state", "blocked", "q", "field", "op", "value", "low", "page"),
        lambda w, i: reverse("handling:crm_customers", args=[w.crm.pk]),
    ),
    Door(
        "crm_give_out",
        "post",
        ("confirm", "to_campaign", "to_segment", "campaign", "field", "op", "low"),
        lambda w, i: reverse("handling:crm_give_out", args=[w.crm.pk]),
    ),
    Door(
        "crm_selection_save",
        "post",
        ("name", "campaign", "q"),
        lambda w, i: reverse("handling:crm_selection_save", args=[w.crm.pk]),
    ),
    Door(
        "campaign_bulk",
        "post",
        ("action", "customer", "all", "confirm", "to_campaign", "to_segment", "to_user", "state"),
        lambda w, i: reverse("handling:campaign_bulk", args=[w.campaign.pk]),
    ),
    Door(
        "search_bulk",
        "post",
        ("q", "action", "customer", "all", "confirm", "to_campaign", "to_user"),
        lambda w, i: reverse("handling:search_bulk"),
    ),
    Door("my_work", "get", ("day",), lambda w, i: reverse("handling:my_work")),
    Door("search", "get", ("q",), lambda w, i: reverse("handling:search")),
    Door(
        "reports",
        "get",
        ("first", "last", "campaign", "segment", "team", "user", "outcome"),
        lambda w, i: reverse("reports:report", args=["activity"]),
    ),
    Door("set_language", "post", ("language", "next"), lambda w, i: reverse("set_language")),
    Door(
        "export_customers_page",
        "get",
        ("campaign", "crm", "segment", "state", "follow_up", "q", "field", "op", "value", "low"),
        lambda w, i: reverse("exports:customers"),
    ),
    Door(
        "export_customers",
        "post",
        ("campaign", "crm", "segment", "state", "reach", "field", "op", "high", "format"),
        lambda w, i: reverse("exports:customers"),
    ),
    Door(
        "export_registrations_page",
        "get",
        ("start", "end", "campaign", "segment", "user", "outcome", "basis"),
        lambda w, i: reverse("exports:registrations"),
    ),
    Door(
        "export_registrations",
        "post",
        ("start", "end", "data_owner", "crm", "team", "outcome", "basis", "format"),
        lambda w, i: reverse("exports:registrations"),
    ),
]


def snapshot() -> dict[str, Any]:
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "placements": list(
            Placement.objects.order_by("pk")
            .values()
            .values(
                *[
                    f.attname
                    for f in Placement._meta.concrete_fields
                    # a lease renewal is the one change a refusal may not undo: time passes
                    if f.attname not in ("lease_expires_at",)
                ]
            )
        ),
        "events": list(Event.objects.order_by("pk").values()),
        "corrections": list(CorrectionRequest.objects.order_by("pk").values()),
        "meetings": Meeting.objects.count(),
        "lines": ProductLine.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def _import_door(route: str) -> Callable[[World, dict[str, int]], str]:
    """An import door: the supervisor gets *campaign setup* (imports need it) and a CSV
    uploaded to the world's CRM that has not started, so the generated input reaches the
    mapping, the options and the preview."""

    def url(world: World, ids: dict[str, int]) -> str:
        from django.contrib.auth.models import Permission

        from kundeflyt.imports.services import import_upload

        world.supervisor.user_permissions.add(Permission.objects.get(codename="campaign_setup"))
        if route == "imports:upload":
            return reverse(route, args=[world.crm.pk])
        content = b"Kundenr;Navn;Telefon;Ansatte\r\n1;Kari;91234567;12\r\n"
        setup = type(world.supervisor).objects.get(pk=world.supervisor.pk)  # no cached perms
        batch = import_upload(setup, crm=world.crm, file_name="k.csv", content=[content])
        return reverse(route, args=[batch.pk])

    return url


IMPORT_OPTIONS = ("target", "on_duplicate", "on_blocked", "match_phone", "id_prefix", "rest_field")
IMPORT_COLUMNS = ("column_0", "column_1", "column_2", "column_3", "column_9")
DOORS += [
    Door("imports_upload", "post", ("file",), _import_door("imports:upload")),
    Door("imports_batch", "get", ("page",), _import_door("imports:batch")),
    Door("imports_sheet", "post", ("sheet",), _import_door("imports:sheet")),
    Door(
        "imports_preview",
        "post",
        IMPORT_COLUMNS + IMPORT_OPTIONS,
        _import_door("imports:preview"),
        htmx=True,
    ),
    Door("imports_start", "post", IMPORT_COLUMNS + IMPORT_OPTIONS, _import_door("imports:start")),
]


@pytest.fixture
def doors_world(world: World) -> dict[str, int]:
    """A customer the supervisor holds with a registration on it: every door has a target."""
    customer = world.customer(1)
    selection = customer_select(world.supervisor, customer_id=customer.pk)
    event = outcome_register(
        world.supervisor,
        customer_id=customer.pk,
        token=selection.token,
        outcome_id=world.outcome("call_back").pk,
        follow_up_at=timezone.now() + dt.timedelta(days=1),
    )
    world.customer(2)
    return {"customer": customer.pk, "event": event.pk}


@pytest.mark.parametrize("door", DOORS, ids=[d.name for d in DOORS])
def test_no_input_fails_a_door_and_a_refusal_changes_nothing(
    client: Client, world: World, doors_world: dict[str, int], door: Door
) -> None:
    client.force_login(world.supervisor)
    url = door.url(world, doors_world)

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.fixed_dictionaries({}, optional={p: values for p in door.params}))
    def knock(data: dict[str, str]) -> None:
        before = snapshot()
        headers = {"HTTP_HX_REQUEST": "true"} if door.htmx else {}
        response = getattr(client, door.method)(url, data, **headers)
        assert response.status_code < 500, (door.name, data, response.status_code)
        refused = response.status_code >= 400 or any(
            m.level == ERROR for m in get_messages(response.wsgi_request)
        )
        if refused:
            assert snapshot() == before, (door.name, data)

    knock()
