"""Two-factor login: who must use it, and what the enrolment page shows.

A user has two-factor login while they have a confirmed TOTP device (an authenticator app);
``User.two_factor`` says so without a query (``signals.py`` keeps it). Recovery codes are the
tokens of one static device. The writes are in ``services.py``.
"""

from __future__ import annotations

from base64 import b32encode
from binascii import unhexlify
from typing import TYPE_CHECKING

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.safestring import SafeString, mark_safe
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kundeflyt.accounts.permissions import Perm

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User

RECOVERY_CODES = 10


def required_permissions() -> list[str]:
    """The permissions whose holders must use two-factor login (the OTP_REQUIRED_FOR setting)."""
    names = list(settings.OTP_REQUIRED_FOR)
    unknown = sorted(set(names) - {perm.value for perm in Perm})
    if unknown:
        raise ImproperlyConfigured(
            f"OTP_REQUIRED_FOR names unknown permissions: {', '.join(unknown)}. "
            f"Known: {', '.join(sorted(perm.value for perm in Perm))}."
        )
    return names


def must_use_two_factor(user: User) -> bool:
    """Whether the user's permissions require two-factor login on this installation.
    Superusers hold every permission, so they must whenever anyone must."""
    return user.is_active and any(
        user.has_perm(f"accounts.{name}") for name in required_permissions()
    )


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def secret_text(key_hex: str) -> str:
    """The secret as an authenticator app asks for it when typed in: base32, in groups of 4."""
    text = b32encode(unhexlify(key_hex)).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def setup_url(user: User, key_hex: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return TOTPDevice(user=user, key=key_hex).config_url


def qr_svg(data: str) -> SafeString:
    """``data`` as a QR code in inline SVG (a path, no Pillow needed)."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=12,
        border=2,
        error_correction=qrcode.ERROR_CORRECT_M,
    )
    svg = image.to_string(encoding="unicode")
    # Our own drawing of a URL we built: nothing from the request is in it. The page names it.
    return mark_safe(svg.replace("<svg ", '<svg aria-hidden="true" ', 1))


def recovery_code_text(token: str) -> str:
    """A recovery code as shown: two groups of four, easier to copy by hand."""
    return f"{token[:4]}-{token[4:]}" if len(token) == 8 else token
