"""What the handling views share: the user, the list being worked, the current customer."""

from __future__ import annotations

from django.http import HttpRequest

from kundeflyt.accounts.models import User
from kundeflyt.handling import selectors
from kundeflyt.handling.models import Placement

WORKING = "working"  # session key: the campaign (and segment) the agent works as a list


def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def working(request: HttpRequest) -> tuple[int, int | None] | None:
    value = request.session.get(WORKING)
    return (value["campaign"], value.get("segment")) if value else None


def current(request: HttpRequest) -> Placement | None:
    placement = selectors.current_selection(user_of(request))
    # The menu's context processor reads it from here instead of asking again.
    request.current_placement = placement  # type: ignore[attr-defined]
    return placement
