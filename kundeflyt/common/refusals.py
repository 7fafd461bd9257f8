"""The one way a view answers a refused action (a ``DomainError`` from a service).

A page post gets the reason as a message and goes back where the user came from; an htmx
request gets its partial again with the field at fault and the reason, in a 422 (htmx swaps
it, so the reason shows beside the field). Errors a view does not handle become an error
page of their status in ``DomainErrorMiddleware``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from kundeflyt.common.errors import DomainError

REFUSED = 422


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx made the request (``django_htmx`` sets ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))


def refused(
    request: HttpRequest,
    error: DomainError,
    *,
    back: str,
    template: str | None = None,
    context: dict[str, Any] | None = None,
) -> HttpResponseBase:
    """Answer a refusal: ``template`` with ``error`` and ``error_field`` for htmx (when
    given), otherwise a message and a redirect to ``back`` (a URL or a URL name)."""
    if template is not None and is_htmx(request):
        return render(
            request,
            template,
            (context or {}) | {"error": error.message, "error_field": error.field},
            status=REFUSED,
        )
    messages.error(request, error.message)
    return htmx_redirect(request, back)


def local_url(request: HttpRequest, url: str | None, default: str = "handling:my_work") -> str:
    """``url`` if it leads to a page of this site, otherwise ``default``: a form's "back"
    never sends the browser to another site or runs a script (no open redirect)."""
    if (
        url
        and len(url) <= 2000
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and url.startswith("/")
    ):
        return url
    return resolve_url(default)


def htmx_redirect(request: HttpRequest, to: str) -> HttpResponse:
    """Send the browser to ``to``: through htmx when htmx asked (a full page load), with a
    plain redirect otherwise, so that a reload never posts a form again."""
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = to
        return response
    return redirect(to)
