"""Lists a page at a time: ``limit`` rows (50 by default, at most 500) ``after`` the last id
of the page before, with a ``next`` link while there is more. Keyed by id, never by offset:
a page costs the same at any depth and stays put while rows are added."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

PAGE = 50
LARGEST_PAGE = 500

M = TypeVar("M", bound=Model | dict[str, Any])


class Paging(Schema):
    limit: Annotated[int, Field(ge=1, le=LARGEST_PAGE)] = PAGE
    after: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0  # the last id of the previous page


def page_of(
    request: HttpRequest, rows: QuerySet[Any, M], paging: Paging
) -> tuple[list[M], str | None]:
    """The page of ``rows`` (models, or dicts with ``pk``) after ``paging.after`` in id order,
    and the link to the next."""
    found = list(rows.filter(pk__gt=paging.after).order_by("pk")[: paging.limit + 1])
    if len(found) <= paging.limit:
        return found, None
    found = found[: paging.limit]
    params = request.GET.copy()
    last = found[-1]
    params["after"] = str(last["pk"] if isinstance(last, dict) else last.pk)
    return found, request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
