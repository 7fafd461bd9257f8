"""Writes for users."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import DomainError


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
