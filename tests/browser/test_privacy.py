"""In Chromium: a privacy officer finds a person by phone, hands out everything held about
them, blocks their numbers and erases them (in Norwegian); an agent records "don't call me
again" from the customer screen in one step."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import CRM, BlockedNumber, Customer
from kundeflyt.handling.services import AfterSave, customer_select, outcome_register
from kundeflyt.privacy.models import PrivacyRequest, Right
from tests.browser.test_webhooks import screenshot
from tests.conftest import register_loaded
from tests.factories import CampaignFactory, CRMFactory, UserFactory
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").or_(page.get_by_label("Brukernavn")).fill(username)
    page.get_by_label("Password").or_(page.get_by_label("Passord")).fill("pw")
    page.get_by_role("button", name="Log in").or_(
        page.get_by_role("button", name="Logg inn")
    ).click()
    page.wait_for_load_state()


OFFICER_WORDS = {
    "nb": {
        "privacy": "Personvern",
        "find_by": "Telefon, e-post, kundenummer eller navn",
        "find": "Finn",
        "request": "Henvendelse (valgfritt)",
        "json": "Last ned som JSON",
        "print": "Åpne en side for utskrift",
        "holds": "lagret om deg",
        "reason": "Årsak",
        "block": "Sperr personens numre",
        "blocked": "Personens numre står på sperrelisten",
        "erase": "Slett personen",
        "confirm": "Ja, slett personen for godt",
        "erased": "Slettet person",
        "back": "Personvern: finn en person",
        "was_erased": "ble slettet",
        "log": "Henvendelseslogg",
    },
    "en": {
        "privacy": "Privacy",
        "find_by": "Phone, e-mail, customer id or name",
        "find": "Find",
        "request": "Request (optional)",
        "json": "Download as JSON",
        "print": "Open a page to print",
        "holds": "holds about you",
        "reason": "Reason",
        "block": "Block the person's numbers",
        "blocked": "The person's numbers are on the block list",
        "erase": "Erase the person",
        "confirm": "Yes, erase the person for good",
        "erased": "Erased person",
        "back": "Privacy: find a person",
        "was_erased": "was erased",
        "log": "Request log",
    },
}


@pytest.mark.parametrize("language", ["nb", "en"])
def test_an_officer_hands_out_blocks_and_erases_a_person(
    page: Page, live_server: Any, world: World, language: str
) -> None:
    T = OFFICER_WORDS[language]
    officer = UserFactory(
        username="personvern",
        language=language,
        perms=[Perm.PRIVACY_OFFICER, Perm.CUSTOMER_HANDLING],
    )
    world.crm.data_owner.users.add(officer)
    kari = world.customer("K-1", phone1="912 34 567", email="kari@example.no")
    selection = customer_select(world.agent, customer_id=kari.pk)
    outcome_register(
        world.agent,
        customer_id=kari.pk,
        token=selection.token,
        outcome_id=world.outcome("no_answer").pk,
        comment="Kari ba oss ringe etter jul",
        then=AfterSave.MY_WORK,
    )
    log_in(page, live_server.url, officer.username)

    page.get_by_role("link", name=T["privacy"], exact=True).click()
    page.get_by_label(T["find_by"]).fill("+47 912 34 567")
    page.get_by_role("button", name=T["find"]).click()
    page.get_by_role("link", name="Kunde K-1").click()
    expect(page.get_by_role("heading", name="Kunde K-1", level=1)).to_be_visible()
    screenshot(page, f"privacy-person-{language}")

    page.get_by_label(T["request"]).fill("E-post 3. mars")
    with page.expect_download() as download:
        page.get_by_role("button", name=T["json"]).click()
    held = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert held["registrations"][0]["comment"] == "Kari ba oss ringe etter jul"
    with page.expect_popup() as popup:
        page.get_by_role("button", name=T["print"]).click()
    report = popup.value
    expect(report.get_by_role("heading", level=1)).to_contain_text(T["holds"])
    expect(report.get_by_text("Kari ba oss ringe etter jul")).to_be_visible()
    screenshot(report, f"privacy-access-{language}")
    report.close()

    page.get_by_label(T["reason"]).first.fill("Vil ikke ringes")
    page.get_by_role("button", name=T["block"]).click()
    expect(page.get_by_text(T["blocked"])).to_be_visible()
    assert BlockedNumber.objects.get().data_owner == world.crm.data_owner

    page.get_by_label(T["reason"]).last.fill("Ba om sletting")
    page.get_by_role("button", name=T["erase"]).click()
    expect(page.get_by_label(T["confirm"])).to_be_focused()  # required first
    page.get_by_label(T["confirm"]).check()
    page.get_by_role("button", name=T["erase"]).click()
    expect(page.get_by_role("heading", name=T["erased"], level=1)).to_be_visible()
    expect(page.get_by_role("button", name=T["erase"])).to_have_count(0)
    assert Customer.objects.get(pk=kari.pk).name == ""

    page.get_by_role("link", name=T["back"]).click()
    page.get_by_label(T["find_by"]).fill("91234567")
    page.get_by_role("button", name=T["find"]).click()
    expect(page.get_by_role("status")).to_contain_text(T["was_erased"])
    page.get_by_role("link", name=T["log"]).click()
    expect(page.get_by_role("row")).to_have_count(1 + 4)  # access twice, objection, erasure
    screenshot(page, f"privacy-requests-{language}")
    assert [r.right for r in PrivacyRequest.objects.order_by("at", "pk")] == [
        Right.ACCESS,
        Right.ACCESS,
        Right.OBJECTION,
        Right.ERASURE,
    ]


def test_an_agent_records_dont_call_me_again_from_the_screen(
    page: Page, live_server: Any, world: World
) -> None:
    first = world.customer("A-1", phone1="912 34 567")
    second = world.customer("A-2", phone1="912 34 568")
    log_in(page, live_server.url, world.agent.username)
    page.get_by_role("button", name="Start working").first.click()
    expect(page.get_by_role("heading", name="Customer card")).to_be_visible()

    page.get_by_text("The customer does not want to be called again").click()
    page.get_by_label("Reason").fill("Sa det i samtalen")
    screenshot(page, "screen-dont-call")
    page.get_by_role("button", name="Block the numbers").click()

    expect(page.get_by_text("will not be called again")).to_be_visible()
    # Working a list: the next customer is on the screen at once.
    expect(page.get_by_text(second.customer_id, exact=True).first).to_be_visible()
    assert Customer.objects.get(pk=first.pk).is_blocked
    entry = BlockedNumber.objects.get()
    assert (entry.phone, entry.data_owner, entry.actor_user) == (
        "+4791234567",
        world.crm.data_owner,
        User.objects.get(pk=world.agent.pk),
    )


def test_a_reserved_consumer_is_never_presented_and_an_existing_customer_is(
    page: Page, live_server: Any, world: World, in_calling_hours: None
) -> None:
    crm = CRMFactory(data_owner=world.crm.data_owner, kind=CRM.Kind.B2C, name="Privat")
    consumers = CampaignFactory(crm=crm, name="Strøm privat")
    world.customer("R-1", campaign=consumers, phone1="912 34 567")  # reserved
    known = world.customer("R-2", campaign=consumers, phone1="912 34 568")
    register_loaded("+4791234567", "+4791234568")
    Customer.objects.filter(pk=known.pk).update(
        contact_basis="customer",
        contact_basis_on=dt.date(2025, 2, 1),
        contact_basis_source="Avtale 17",
    )
    log_in(page, live_server.url, world.agent.username)

    page.locator(".campaign-row").filter(has_text="Strøm privat").get_by_role(
        "button", name="Start working"
    ).click()

    expect(page.get_by_role("heading", name="Kunde R-2")).to_be_visible()
    expect(page.locator("#reservation")).to_contain_text(
        "May be called: Existing customer relationship since 01.02.2025 (Avtale 17)"
    )
    screenshot(page, "screen-reserved-customer")
    page.get_by_role("button", name="Next customer").click()
    expect(
        page.get_by_text("No customers are waiting in “Strøm privat” right now.")
    ).to_be_visible()


def test_an_administrator_loads_the_register(
    page: Page, live_server: Any, world: World, tmp_path: Path, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path
    kari = world.customer("K-1", phone1="912 34 567")
    UserFactory(username="sjef", perms=[Perm.ADMINISTRATOR])
    log_in(page, live_server.url, "sjef")
    page.goto(f"{live_server.url}/privacy/")
    page.get_by_role("link", name="Reservasjonsregisteret").click()
    expect(page.get_by_role("status")).to_contain_text("Never loaded")
    register = tmp_path / "reservasjonsregisteret.txt"
    register.write_bytes(b"nummer;type\n91234567;T\n41234567;T\n")

    page.get_by_label("The register's file").set_input_files(register)
    page.get_by_role("button", name="Load the register").click()

    expect(page.get_by_text("Good until")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="reservasjonsregisteret.txt")
    expect(row).to_contain_text("Loaded")
    screenshot(page, "privacy-register")
    assert Customer.objects.get(pk=kari.pk).is_reserved
