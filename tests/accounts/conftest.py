"""What the account tests share: lockout and required two-factor login turned on (the rest of
the suite runs without them, see pyproject.toml), and users with an authenticator app."""

from __future__ import annotations

from binascii import unhexlify

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from kundeflyt.accounts.models import User
from kundeflyt.accounts.services import two_factor_turn_on

# A fixed secret, so that a test can compute the codes an authenticator app would show.
KEY = "3132333435363738393031323334353637383930"
ISSUE_LIST = settings.OTP_REQUIRED_BY_DEFAULT.split(",")


@pytest.fixture(autouse=True)
def axes_on(settings: Settings) -> None:
    """Account tests run with the lockout on, as an installation does."""
    settings.AXES_ENABLED = True


@pytest.fixture
def lockout(settings: Settings) -> Settings:
    """The lockout with the shipped limit (10) and wait (30 minutes)."""
    assert settings.AXES_ENABLED
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 30 * 60
    return settings


@pytest.fixture
def otp_required(settings: Settings) -> Settings:
    """Two-factor login required for the permissions the issue names (the shipped default)."""
    settings.OTP_REQUIRED_FOR = ISSUE_LIST
    return settings


def app_code(device: TOTPDevice) -> str:
    """The code the user's app shows now, or the next one if now's was used already (a code
    logs in once)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        totp.drift += device.last_t + 1 - totp.t()
    return f"{totp.token():06d}"


def wrong_code(device: TOTPDevice) -> str:
    """A six-digit code the app does not show now."""
    return f"{(int(app_code(device)) + 1) % 1_000_000:06d}"


def enrol(user: User, key: str = KEY) -> tuple[TOTPDevice, list[str]]:
    """Give ``user`` an authenticator app (and recovery codes), as the enrolment page does."""
    code = f"{TOTP(unhexlify(key)).token():06d}"
    return two_factor_turn_on(user, key=key, code=code)


def log_in(client: Client, username: str, password: str = "pw", **extra: str) -> int:
    """The login form, as a browser posts it; the status of the answer."""
    return client.post(
        "/login/",
        {"username": username, "password": password},
        **extra,  # type: ignore[arg-type]
    ).status_code


def logged_in_as(client: Client) -> str | None:
    """The username the client's session belongs to, if any (one request, My work)."""
    response = client.get("/")
    user = response.wsgi_request.user
    return user.get_username() if user.is_authenticated else None
