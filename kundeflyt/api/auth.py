"""``Authorization: Bearer <token>``: the request acts as the token's user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import translation
from ninja.security import HttpBearer

from kundeflyt.accounts.models import User
from kundeflyt.api.services import token_user


class TokenAuth(HttpBearer):
    openapi_description = (
        "A personal API token, made on the account page by a user with API access. "
        "Requests act as that user, with exactly that user's permissions and visibility."
    )

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_user(token)
        if user is not None:
            request.user = user  # the selectors and services read the actor from here
            translation.activate(user.language)  # refusals in the user's language
            request.LANGUAGE_CODE = user.language
        return user


def user_of(request: Any) -> User:
    user = request.auth
    assert isinstance(user, User)
    return user
