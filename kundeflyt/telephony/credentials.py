"""Providers' secrets at rest: sealed with Fernet under ``CREDENTIALS_KEY``, or read from an
environment variable whose name the administrator gives (only ``KUNDEFLYT_PROVIDER_*``, so
that no setting can make the server send, say, its SECRET_KEY to a provider)."""

from __future__ import annotations

import base64
import hashlib
import os
import re

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils.translation import gettext as _

from kundeflyt.common.errors import DomainError

VARIABLE = re.compile(r"KUNDEFLYT_PROVIDER_[A-Z0-9_]{1,60}")


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"kundeflyt-credentials:" + settings.CREDENTIALS_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def unseal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise DomainError(
            _(
                "The provider's stored secret can't be read (was CREDENTIALS_KEY changed?). "
                "Enter it again."
            ),
            field="secret",
        ) from None


def check_variable(name: str) -> str:
    name = (name or "").strip()
    if name and not VARIABLE.fullmatch(name):
        raise DomainError(
            _("The variable's name must start with KUNDEFLYT_PROVIDER_ (capitals, digits, _)."),
            field="secret_variable",
        )
    return name


def secret_of(sealed: str, variable: str) -> str:
    """The secret in force: the environment variable's, when one is named."""
    if variable:
        check_variable(variable)
        return os.environ.get(variable, "")
    return unseal(sealed)
