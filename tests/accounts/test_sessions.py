"""Issue 9: sessions end after the idle time (the screen's polls are not activity), "log out
everywhere" ends them all, the session key changes at login, and users change their own
password."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from kundeflyt.accounts.middleware import LAST_ACTIVITY
from kundeflyt.common.models import AuditEntry
from tests.accounts.conftest import log_in, logged_in_as
from tests.world import World

pytestmark = pytest.mark.django_db

EIGHT_HOURS = 8 * 3600
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def idle_for(client: Client, seconds: int) -> None:
    """As if the user's last own request was ``seconds`` ago."""
    session = client.session
    session[LAST_ACTIVITY] = int(time.time()) - seconds
    session.save()


def last_activity_ago(client: Client) -> int:
    return int(time.time()) - client.session[LAST_ACTIVITY]


@pytest.fixture
def agent(client: Client, world: World) -> Client:
    client.defaults.update(ENGLISH)  # the login page speaks the browser's language
    client.force_login(world.agent)
    client.get(reverse("handling:my_work"))  # the first request starts the idle clock
    return client


def polls(client: Client, world: World) -> list[int]:
    """What an open customer screen and customer details ask by themselves."""
    customer = world.customer(1)
    return [
        client.post(reverse("handling:screen_renew"), {"customer": customer.pk, "token": 1}),
        client.get(reverse("handling:side_panel")),
        client.get(reverse("handling:customer_presence", args=[customer.pk])),
    ]


# --- Idle timeout -------------------------------------------------------------------------------


def test_the_idle_time_is_eight_hours_by_default() -> None:
    assert settings.SESSION_IDLE_SECONDS == EIGHT_HOURS
    assert settings.SESSION_COOKIE_AGE > EIGHT_HOURS  # the idle check sees a lapsed session first


def test_a_session_idle_for_eight_hours_ends_with_a_word_on_the_login_page(
    agent: Client,
) -> None:
    idle_for(agent, EIGHT_HOURS + 1)

    response = agent.get(reverse("handling:my_work"))

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2F"
    login = agent.get(response["Location"])
    assert "You were logged out after 8 hours without activity." in login.content.decode()
    assert logged_in_as(agent) is None


def test_just_under_the_idle_time_the_session_goes_on_and_the_clock_restarts(
    agent: Client,
) -> None:
    idle_for(agent, EIGHT_HOURS - 60)

    assert agent.get(reverse("handling:my_work")).status_code == 200
    assert last_activity_ago(agent) < 5


def test_the_screens_polls_neither_keep_a_session_alive_nor_restart_its_clock(
    agent: Client, world: World
) -> None:
    idle_for(agent, EIGHT_HOURS - 120)
    assert all(r.status_code in (200, 204) for r in polls(agent, world))
    assert last_activity_ago(agent) >= EIGHT_HOURS - 120  # the clock did not move

    idle_for(agent, EIGHT_HOURS + 1)
    renewal = agent.post(
        reverse("handling:screen_renew"),
        {"customer": 1, "token": 1},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/screen/",
    )

    # htmx sends the whole browser to the login page, and back to the screen after it.
    assert renewal.status_code == 204
    assert renewal["HX-Redirect"] == "/login/?next=%2Fscreen%2F"
    assert logged_in_as(agent) is None


def test_the_idle_time_is_a_setting(agent: Client, settings: Settings) -> None:
    settings.SESSION_IDLE_SECONDS = 15 * 60
    idle_for(agent, 15 * 60 + 1)

    response = agent.get(reverse("handling:my_work"), follow=True)

    assert "You were logged out after 15 minutes without activity." in response.content.decode()


def test_the_idle_clock_starts_at_login(client: Client, world: World) -> None:
    session = client.session
    session[LAST_ACTIVITY] = int(time.time()) - 10 * EIGHT_HOURS  # left by someone before
    session.save()

    assert log_in(client, "agent") == 302
    assert last_activity_ago(client) < 5
    assert logged_in_as(client) == "agent"


# --- Login and logout -------------------------------------------------------------------------


def test_the_session_key_changes_at_login(client: Client, world: World) -> None:
    before = client.session.session_key  # a session from before the login
    assert before

    assert log_in(client, "agent") == 302

    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert logged_in_as(client) == "agent"


def test_log_out_everywhere_ends_every_session_of_the_user_and_only_theirs(
    client: Client, world: World
) -> None:
    phone, colleague = Client(), Client()
    assert log_in(client, "agent") == 302
    assert log_in(phone, "agent") == 302
    assert log_in(colleague, "agent2") == 302

    response = client.post(reverse("accounts:log_out_everywhere"))

    assert response["Location"] == reverse("login")
    login = client.get(reverse("login"), **ENGLISH)  # type: ignore[arg-type]
    assert "You are logged out everywhere, here too." in login.content.decode()
    assert logged_in_as(client) is None
    assert logged_in_as(phone) is None
    assert logged_in_as(colleague) == "agent2"
    assert AuditEntry.objects.filter(action="user.sessions_end", actor_user=world.agent).exists()
    # A new login works as before.
    assert log_in(phone, "agent") == 302
    assert logged_in_as(phone) == "agent"


def test_log_out_everywhere_is_a_button_on_the_account_page(agent: Client) -> None:
    page = agent.get(reverse("accounts:account")).content.decode()

    assert f'action="{reverse("accounts:log_out_everywhere")}"' in page
    assert "Log out everywhere" in page
    assert agent.get(reverse("accounts:log_out_everywhere")).status_code == 405  # a POST only


# --- Password ---------------------------------------------------------------------------------


def change(client: Client, old: str, new: str, again: str | None = None) -> str:
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": old, "new_password1": new, "new_password2": again or new},
        follow=True,
    ).content.decode()


def test_a_user_changes_their_password_and_their_other_sessions_end(
    client: Client, world: World
) -> None:
    other = Client()
    assert log_in(client, "agent") == 302
    assert log_in(other, "agent") == 302
    page = client.get(reverse("accounts:account")).content.decode()
    assert f'href="{reverse("accounts:password_change")}"' in page

    page = change(client, "pw", "Fjordhest-Nordlys-42")

    assert "Your password is changed. You are logged out everywhere else." in page
    assert logged_in_as(client) == "agent"  # this session goes on
    assert logged_in_as(other) is None
    assert log_in(Client(), "agent", "pw") == 200  # the old one is refused
    assert log_in(Client(), "agent", "Fjordhest-Nordlys-42") == 302
    entry = AuditEntry.objects.get(action="user.password")
    assert entry.actor_user == world.agent and entry.before is None and entry.after is None


@pytest.mark.parametrize(
    ("old", "new", "again", "reason"),
    [
        ("wrong", "Fjordhest-Nordlys-42", None, "Your old password was entered incorrectly."),
        ("pw", "Fjordhest-Nordlys-42", "Fjordhest-Nordlys-43", "fields didn’t match"),
        ("pw", "12345678", None, "This password is too common."),
        ("pw", "kort", None, "too short"),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    agent: Client, world: World, old: str, new: str, again: str | None, reason: str
) -> None:
    page = change(agent, old, new, again)

    assert reason in page
    world.agent.refresh_from_db()
    assert world.agent.check_password("pw")
    assert not AuditEntry.objects.filter(action="user.password").exists()


def test_the_password_page_speaks_norwegian(client: Client, world: World) -> None:
    world.agent.language = "nb"
    world.agent.save()
    client.force_login(world.agent)

    page = client.get(reverse("accounts:password_change")).content.decode()

    assert "Bytt passord" in page
    assert "Gammelt passord" in page  # Django's own label
