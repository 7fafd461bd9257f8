from __future__ import annotations

from contextlib import suppress

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from kundeflyt.accounts.models import User
from kundeflyt.accounts.services import user_set_language
from kundeflyt.common.errors import DomainError


@require_POST
def language_set(request: HttpRequest) -> HttpResponseBase:
    """Switch the language; a logged-in user keeps the choice for later sessions too."""
    if isinstance(request.user, User):
        # Django's view below ignores an unknown language the same way.
        with suppress(DomainError):
            user_set_language(request.user, language=request.POST.get("language", ""))
    return set_language(request)
