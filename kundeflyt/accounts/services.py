"""Writes for users: language, password, sessions, two-factor login."""

from __future__ import annotations

import re
from binascii import Error as BinasciiError
from binascii import unhexlify

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kundeflyt.accounts.models import User
from kundeflyt.accounts.two_factor import RECOVERY_CODES, must_use_two_factor
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.errors import DomainError, NotAllowed
from kundeflyt.common.phones import normalise_phone

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
CODE_MAX_LENGTH = 32  # longer than any code we accept; a longer input is refused unread


@transaction.atomic
def user_set_language(user: User, *, language: str) -> User:
    """The user's own choice of language, kept for every later session."""
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Unknown language “%(code)s”.") % {"code": language}, field="language")
    if user.language != language:
        before = user.language
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language
        audit(
            user, "user.language", user, before={"language": before}, after={"language": language}
        )
    return user


@transaction.atomic
def user_set_phone(user: User, *, phone: str) -> User:
    """The user's own phone for calls: click-to-call rings it first, then the customer."""
    e164 = normalise_phone(bounded_text(phone, field="phone", max_length=30), field="phone")
    if user.phone != e164:
        before = user.phone
        User.objects.filter(pk=user.pk).update(phone=e164)
        user.phone = e164
        audit(user, "user.phone", user, before={"phone": before}, after={"phone": e164})
    return user


@transaction.atomic
def user_password_change(user: User, *, password: str) -> User:
    """The user's own new password, which must pass the installation's password rules. Every
    other session of the user ends with the old password (a session's hash includes it)."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages), field="password") from None
    user.set_password(password)
    User.objects.filter(pk=user.pk).update(password=user.password)
    audit(user, "user.password", user)  # that it changed; never the hash
    return user


@transaction.atomic
def user_sessions_end(user: User) -> User:
    """“Log out everywhere”: every session of the user ends, on every device, this one too."""
    before = user.session_generation
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    audit(
        user,
        "user.sessions_end",
        user,
        before={"session_generation": before},
        after={"session_generation": user.session_generation},
    )
    return user


# --- Two-factor login -------------------------------------------------------------------------


def _clean_code(code: str) -> str:
    """A code as typed: spaces and dashes dropped, letters in lower case."""
    if len(code) > CODE_MAX_LENGTH:
        return ""
    return re.sub(r"[\s-]", "", code).lower()


def _is_app_code(token: str) -> bool:
    return len(token) == 6 and token.isascii() and token.isdigit()


def _wrong_code() -> DomainError:
    return DomainError(_("That code is not right. Try again."), field="code", code="wrong_code")


def _recovery_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    tokens: set[str] = set()
    while len(tokens) < RECOVERY_CODES:
        tokens.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=t) for t in sorted(tokens))
    return sorted(tokens)


@transaction.atomic
def two_factor_turn_on(user: User, *, key: str, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn on two-factor login with the authenticator app that was given ``key`` and now
    shows ``code``. It replaces any earlier app and recovery codes. Returns the device and the
    new recovery codes, which are shown once and then only their number."""
    try:
        secret = unhexlify(key)
    except (BinasciiError, ValueError):
        secret = b""
    if len(secret) != 20:
        raise DomainError(_("The set-up has expired. Start again."), field="code")
    token = _clean_code(code)
    if not _is_app_code(token):
        raise DomainError(_("Enter the 6 digits your app shows."), field="code")
    totp = TOTP(secret)
    if not totp.verify(int(token), tolerance=1):
        raise _wrong_code()
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(
        user=user,
        name=AUTHENTICATOR_NAME,
        key=key,
        confirmed=True,
        last_t=totp.t(),  # the code just used cannot log anyone in
        drift=totp.drift,
    )
    codes = _recovery_codes_replace(user)
    user.two_factor = True  # signals.py has written it
    audit(user, "user.two_factor_on", user, before=None, after={"recovery_codes": len(codes)})
    return device, codes


def two_factor_verify(user: User, *, code: str) -> Device:
    """The second step of a login: a code from the user's app, or one of their recovery codes
    (each works once). Wrong codes slow the next tries down (django-otp's throttling)."""
    token = _clean_code(code)
    refusal: DomainError | None = None
    # The throttling's counts must be saved when the code is wrong: refuse after the commit.
    with transaction.atomic():
        model: type[TOTPDevice] | type[StaticDevice] = (
            TOTPDevice if _is_app_code(token) else StaticDevice
        )
        device = (
            model.objects.select_for_update().filter(user=user, confirmed=True).first()
            if token
            else None
        )
        if device is None:
            refusal = _wrong_code()
        else:
            allowed, details = device.verify_is_allowed()
            if not allowed:
                until = (details or {}).get("locked_until") or timezone.now()
                seconds = max(1, round((until - timezone.now()).total_seconds()))
                refusal = DomainError(
                    ngettext(
                        "Too many wrong codes. Try again in %(count)d second.",
                        "Too many wrong codes. Try again in %(count)d seconds.",
                        seconds,
                    )
                    % {"count": seconds},
                    field="code",
                    code="throttled",
                )
            elif not device.verify_token(token):
                refusal = _wrong_code()
            elif isinstance(device, StaticDevice):
                audit(
                    user,
                    "user.recovery_code_used",
                    user,
                    after={"recovery_codes_left": device.token_set.count()},
                )
    if refusal is not None:
        raise refusal
    assert device is not None
    return device


@transaction.atomic
def two_factor_turn_off(user: User) -> User:
    """A user whose permissions do not require two-factor login may turn it off again."""
    if must_use_two_factor(user):
        raise NotAllowed(
            _("Your permissions require two-factor login, so it cannot be turned off."),
            field="two_factor",
        )
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.two_factor = False  # signals.py has written it
    audit(user, "user.two_factor_off", user)
    return user


@transaction.atomic
def recovery_codes_renew(user: User) -> list[str]:
    """New recovery codes in place of the old ones (used or not), for a user with two-factor
    login. They are shown once."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise DomainError(_("Turn on two-factor login first."), field="two_factor")
    codes = _recovery_codes_replace(user)
    audit(user, "user.recovery_codes_renew", user, after={"recovery_codes": len(codes)})
    return codes
