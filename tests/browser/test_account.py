"""Issue 9 in Chromium: an administrator logs in with a code from an authenticator app, a
supervisor who must use one sets it up, and twelve wrong passwords lock the account."""

from __future__ import annotations

import re
from base64 import b32decode
from binascii import unhexlify

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect
from pytest_django import Settings

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from tests.accounts.conftest import ISSUE_LIST, app_code, enrol, wrong_code
from tests.factories import UserFactory
from tests.world import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def secured(settings: Settings) -> Settings:
    """Lockout and required two-factor login on, as an installation ships them."""
    settings.AXES_ENABLED = True
    settings.OTP_REQUIRED_FOR = ISSUE_LIST
    return settings


def password_step(page: Page, base: str, username: str, password: str = "pw") -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_an_administrator_logs_in_with_a_code_from_the_app(
    page: Page, live_server, secured: Settings, world: World
) -> None:
    administrator = UserFactory(
        username="astrid", perms=[Perm.ADMINISTRATOR], is_staff=True, first_name="Astrid"
    )
    device, _codes = enrol(administrator)

    password_step(page, live_server.url, "astrid")
    expect(page.get_by_role("heading", name="Code from your app")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(wrong_code(device))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("That code is not right. Try again.")).to_be_visible()

    # As if the second that a wrong code costs had passed (django-otp's throttling).
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    device.refresh_from_db()
    page.get_by_label("Code", exact=True).fill(app_code(device))
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    page.get_by_role("link", name="Administration").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("link", name="Users", exact=True)).to_be_visible()


def test_a_supervisor_who_must_use_it_sets_it_up_at_the_first_login(
    page: Page, live_server, secured: Settings, world: World
) -> None:
    password_step(page, live_server.url, "supervisor")

    expect(page.get_by_role("heading", name="Set up two-factor login")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8)).hex()
    page.get_by_label("Code from the app").fill(f"{TOTP(unhexlify(key)).token():06d}")
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    assert User.objects.get(username="supervisor").two_factor


def test_twelve_wrong_passwords_lock_the_account(
    page: Page, live_server, secured: Settings, world: World
) -> None:
    for _ in range(12):
        password_step(page, live_server.url, "agent", "wrong")

    expect(page.get_by_role("alert")).to_contain_text(
        "Too many wrong passwords for this user from this address. Wait 30 minutes"
    )
    password_step(page, live_server.url, "agent")  # the right password, still refused
    expect(page.get_by_role("alert")).to_contain_text("Wait 30 minutes")
    expect(page.get_by_role("heading", name="Log in to Kundeflyt")).to_be_visible()
