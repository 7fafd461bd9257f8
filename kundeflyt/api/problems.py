"""Every refusal of the API in one shape: ``application/problem+json`` (RFC 9457), with the
field at fault and the reason, in the token user's language."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from kundeflyt.common.errors import DomainError

PROBLEM = "application/problem+json"
# Where ninja says a value came from, and the name of the operations' body parameter, in an
# error's location: the field is named without them.
SOURCES = ("query", "body", "form", "path", "header", "cookie")


class Problem(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    field: str | None = None


# The refusals every operation may answer, for its entry in the schema.
REFUSALS: dict[int, type[Problem]] = {code: Problem for code in (400, 401, 403, 404, 422, 429)}
# …and a write's: taken by someone else first (409), changed since it was read (412), or
# sent without the version it changes (428).
WRITE_REFUSALS = REFUSALS | {409: Problem}
VERSIONED_WRITE_REFUSALS = WRITE_REFUSALS | {412: Problem, 428: Problem}


def problem(
    api: NinjaAPI, request: HttpRequest, status: int, detail: str, field: str | None = None
) -> HttpResponse:
    titles = {400: _("Bad request"), 401: _("Not signed in"), 403: _("Not allowed")}
    titles |= {404: _("Not found"), 409: _("Conflict"), 422: _("Invalid input")}
    titles |= {412: _("Changed since you read it"), 428: _("Say which version you change")}
    titles |= {429: _("Too many requests")}
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": titles.get(status, _("Error")),
        "status": status,
        "detail": detail,
        "field": field,
    }
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM
    return response


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
        return problem(api, request, error.status, error.message, error.field)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
        response = problem(
            api, request, 401, _("Send a valid API token: Authorization: Bearer <token>.")
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
        first = error.errors[0] if error.errors else {}
        location = [str(part) for part in first.get("loc", ()) if part not in SOURCES]
        return problem(
            api, request, 422, str(first.get("msg", _("Invalid input."))), ".".join(location)
        )

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, error: Throttled) -> HttpResponse:
        response = problem(api, request, 429, _("Too many requests: wait, then try again."))
        response["Retry-After"] = str(math.ceil(error.wait or 1))
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
        return problem(api, request, error.status_code, str(error))
