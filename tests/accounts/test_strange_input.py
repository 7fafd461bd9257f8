"""The login and account forms against strange input (issue 9): never a server error, and a
refused code or password changes nothing."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from kundeflyt.common.models import AuditEntry
from tests.accounts.conftest import enrol
from tests.world import World

pytestmark = pytest.mark.django_db

STRANGE = [
    "",
    " ",
    "\x00",
    "12\x003456",
    "٣٣٣٣٣٣",  # digits, but not ASCII ones
    "１２３４５６",
    "9" * 40,
    "x" * 6000,
    "<script>alert(1)</script>",
    "aaaa-bbbb-cccc",
    "-",
    "NaN",
]


@pytest.mark.parametrize("value", STRANGE)
def test_the_login_form_answers_strange_input(
    client: Client, world: World, settings: Settings, value: str
) -> None:
    settings.PROXY_COUNT = 1
    response = client.post(
        reverse("login"),
        {"username": value, "password": value, "next": value},
        HTTP_X_FORWARDED_FOR=f"{value}, {value}",
        REMOTE_ADDR="192.0.2.1",
    )
    assert response.status_code in (200, 429)
    assert all(a.ip_address in (None, "192.0.2.1") for a in AccessAttempt.objects.all())


@pytest.mark.parametrize("value", STRANGE)
def test_the_code_page_answers_strange_input_and_logs_nobody_in(
    client: Client, world: World, value: str
) -> None:
    enrol(world.agent)
    client.force_login(world.agent)

    response = client.post(reverse("accounts:two_factor_verify"), {"code": value, "next": value})

    assert response.status_code == 400
    assert client.get(reverse("handling:my_work")).status_code == 302


@pytest.mark.parametrize("value", STRANGE)
def test_the_enrolment_answers_strange_input_and_sets_nothing_up(
    client: Client, world: World, value: str
) -> None:
    client.force_login(world.agent)
    client.get(reverse("accounts:two_factor_enrol"))

    response = client.post(reverse("accounts:two_factor_enrol"), {"code": value})

    assert response.status_code == 400
    assert not TOTPDevice.objects.exists()


def test_a_damaged_enrolment_secret_is_replaced(client: Client, world: World) -> None:
    client.force_login(world.agent)
    session = client.session
    session["kundeflyt_totp_key"] = "not hex at all"
    session.save()

    response = client.post(reverse("accounts:two_factor_enrol"), {"code": "123456"})

    assert response.status_code == 400
    assert 'id="totp-secret"' in response.content.decode()
    assert len(client.session["kundeflyt_totp_key"]) == 40


@pytest.mark.parametrize("value", STRANGE)
def test_the_password_form_answers_strange_input_and_changes_nothing(
    client: Client, world: World, value: str
) -> None:
    client.force_login(world.agent)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": value, "new_password1": value, "new_password2": value},
    )

    assert response.status_code == 200
    world.agent.refresh_from_db()
    assert world.agent.check_password("pw")
    assert not AuditEntry.objects.filter(action="user.password").exists()
