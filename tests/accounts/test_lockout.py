"""Issue 9: repeated wrong passwords lock one user at one address (django-axes); the login page
says how long to wait, in the user's language; an administrator unlocks."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from kundeflyt.accounts.permissions import Perm
from tests.accounts.conftest import log_in, logged_in_as
from tests.factories import DataOwnerFactory, UserFactory

pytestmark = pytest.mark.django_db

# Browsers asking for English pages; the call centre's one address, and an agent's home.
OFFICE = {"REMOTE_ADDR": "192.0.2.10", "HTTP_ACCEPT_LANGUAGE": "en"}
HOME = {"REMOTE_ADDR": "198.51.100.7", "HTTP_ACCEPT_LANGUAGE": "en"}


def wrong_passwords(client: Client, username: str, times: int, **extra: str) -> list[int]:
    return [log_in(client, username, "wrong", **extra) for _ in range(times)]


def test_twelve_wrong_passwords_lock_the_account_and_the_page_says_how_long(
    client: Client, lockout: Settings
) -> None:
    UserFactory(username="kari")

    statuses = wrong_passwords(client, "kari", 12, **OFFICE)

    assert statuses == [200] * 9 + [429] * 3
    page = client.post(
        "/login/", {"username": "kari", "password": "wrong"}, **OFFICE
    ).content.decode()
    assert "Too many wrong passwords for this user from this address." in page
    assert "Wait 30 minutes and try again, or ask an administrator to unlock you." in page
    assert 'value="kari"' in page  # the form is there again, the name filled in
    # The right password is refused while the lock holds.
    assert log_in(client, "kari", **OFFICE) == 429
    assert logged_in_as(client) is None


def test_the_ninth_wrong_password_still_gets_the_plain_answer(
    client: Client, lockout: Settings
) -> None:
    UserFactory(username="kari")
    wrong_passwords(client, "kari", 9, **OFFICE)

    assert log_in(client, "kari", **OFFICE) == 302
    assert logged_in_as(client) == "kari"


def test_the_lock_holds_for_that_user_at_that_address_only(
    client: Client, lockout: Settings
) -> None:
    UserFactory(username="kari")
    UserFactory(username="ola")
    wrong_passwords(client, "kari", 12, **OFFICE)

    colleague = Client()
    assert log_in(colleague, "ola", **OFFICE) == 302  # same office, another agent
    assert logged_in_as(colleague) == "ola"
    at_home = Client()
    assert log_in(at_home, "kari", **HOME) == 302  # the same agent from another address
    assert logged_in_as(at_home) == "kari"


def test_the_page_says_the_wait_that_is_left_and_the_lock_ends_by_itself(
    client: Client, lockout: Settings
) -> None:
    UserFactory(username="kari")
    wrong_passwords(client, "kari", 10, **OFFICE)

    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=21))
    page = client.post("/login/", {"username": "kari", "password": "pw"}, **OFFICE)
    assert page.status_code == 429
    assert "Wait 9 minutes" in page.content.decode()
    # Trying while locked does not push the end of the wait further away.
    again = client.post("/login/", {"username": "kari", "password": "wrong"}, **OFFICE)
    assert "Wait 9 minutes" in again.content.decode()

    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31))
    assert log_in(client, "kari", **OFFICE) == 302
    assert logged_in_as(client) == "kari"


def test_the_lockout_page_speaks_norwegian(client: Client, lockout: Settings) -> None:
    UserFactory(username="kari")
    wrong_passwords(client, "kari", 10, **OFFICE)

    response = client.post(
        "/login/",
        {"username": "kari", "password": "pw"},
        **(OFFICE | {"HTTP_ACCEPT_LANGUAGE": "nb"}),  # type: ignore[arg-type]
    )

    page = response.content.decode()
    assert response.status_code == 429
    assert "For mange feil passord for denne brukeren fra denne adressen." in page
    assert "Vent 30 minutter" in page
    assert "Account locked" not in page  # never axes' own English page


def test_a_login_forgets_the_typos_before_it(client: Client, lockout: Settings) -> None:
    UserFactory(username="kari")
    wrong_passwords(client, "kari", 9, **OFFICE)
    assert log_in(client, "kari", **OFFICE) == 302
    client.post(reverse("logout"))

    assert wrong_passwords(client, "kari", 9, **OFFICE) == [200] * 9
    assert log_in(client, "kari", **OFFICE) == 302


def test_the_limit_and_the_wait_are_settings(client: Client, lockout: Settings) -> None:
    lockout.AXES_FAILURE_LIMIT = 3
    lockout.AXES_COOLOFF_TIME = dt.timedelta(minutes=5)
    UserFactory(username="kari")

    assert wrong_passwords(client, "kari", 3, **OFFICE) == [200, 200, 429]
    again = client.post("/login/", {"username": "kari", "password": "wrong"}, **OFFICE)
    assert "Wait 5 minutes" in again.content.decode()


def test_an_administrator_unlocks_a_user_in_the_admin(client: Client, lockout: Settings) -> None:
    kari = UserFactory(username="kari")
    wrong_passwords(Client(), "kari", 12, **OFFICE)
    administrator = UserFactory(perms=[Perm.ADMINISTRATOR], is_staff=True)
    # The administrator of Kari's data owner: the admin shows no one else's lockouts.
    DataOwnerFactory().users.add(kari, administrator)
    client.force_login(administrator)

    changelist = reverse("admin:axes_accessattempt_changelist")
    listing = client.get(changelist, {"locked_out": "yes"})
    assert listing.status_code == 200
    assert "kari" in listing.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    answer = client.post(
        changelist, {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )

    assert answer.status_code == 302
    assert not AccessAttempt.objects.exists()
    agent = Client()
    assert log_in(agent, "kari", **OFFICE) == 302
    assert logged_in_as(agent) == "kari"


@pytest.mark.parametrize("perms", [[Perm.CAMPAIGN_SETUP], [Perm.CUSTOMER_HANDLING]])
def test_only_administrators_see_lockouts(
    client: Client, lockout: Settings, perms: list[Perm]
) -> None:
    client.force_login(UserFactory(perms=perms, is_staff=True))

    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403
    assert client.get(reverse("admin:otp_totp_totpdevice_changelist")).status_code == 403


def test_behind_a_reverse_proxy_the_lock_follows_the_clients_address(
    client: Client, lockout: Settings
) -> None:
    lockout.PROXY_COUNT = 1  # nginx appends the address it saw to X-Forwarded-For
    UserFactory(username="kari")
    proxy = {"REMOTE_ADDR": "127.0.0.1", "HTTP_ACCEPT_LANGUAGE": "en"}
    # What the client sends itself comes before the proxy's entry and is not believed.
    office = proxy | {"HTTP_X_FORWARDED_FOR": "203.0.113.99, 192.0.2.10"}
    home = proxy | {"HTTP_X_FORWARDED_FOR": "203.0.113.99, 198.51.100.7"}

    assert wrong_passwords(client, "kari", 10, **office)[-1] == 429
    assert AccessAttempt.objects.get().ip_address == "192.0.2.10"
    assert log_in(Client(), "kari", **home) == 302
    assert log_in(Client(), "kari", **office) == 429
