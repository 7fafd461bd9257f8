"""``Authorization: Bearer <token>``: the request acts as the token's user."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from kundeflyt.accounts.models import User
from kundeflyt.api.services import token_in_use, token_rate_count


class TokenAuth(HttpBearer):
    openapi_description = (
        "A personal API token, made on the account page by a user with API access. "
        "Requests act as that user, with exactly that user's permissions and visibility."
    )

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = token_in_use(token)
        if found is None:
            return None
        user = found.user
        request.api_token_id = found.pk  # type: ignore[attr-defined]  # the rate limit's key
        request.user = user  # the selectors and services read the actor from here
        translation.activate(user.language)  # refusals in the user's language
        request.LANGUAGE_CODE = user.language
        return user


class TokenRate(BaseThrottle):
    """At most ``API_RATE_LIMIT`` requests a minute per token (429 with ``Retry-After``)."""

    def allow_request(self, request: HttpRequest) -> bool:
        token_id = getattr(request, "api_token_id", None)
        if token_id is None:
            return True
        count, self.left = token_rate_count(token_id, time.time())
        return count <= settings.API_RATE_LIMIT

    def wait(self) -> float | None:
        return self.left


def user_of(request: Any) -> User:
    user = request.auth
    assert isinstance(user, User)
    return user
