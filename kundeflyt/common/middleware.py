from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from kundeflyt.common.errors import DomainError


class DomainErrorMiddleware:
    """The one place where a domain error that a view did not handle becomes a page: the
    status of its kind (403, 404, 409, 400) with its message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        return render(request, "error.html", {"error": exception}, status=exception.status)


class PrivatePagesMiddleware:
    """Headers every answer carries: a Permissions-Policy that turns off what the product
    never uses (camera, microphone, location, payment…), and ``Cache-Control: no-store`` on
    everything a logged-in user is shown, since those pages hold customers' personal data and
    must not stay in a shared browser's or proxy's cache."""

    PERMISSIONS_POLICY = ", ".join(
        f"{feature}=()"
        for feature in (
            "accelerometer",
            "camera",
            "display-capture",
            "geolocation",
            "gyroscope",
            "magnetometer",
            "microphone",
            "payment",
            "usb",
        )
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "ETag" not in response.headers:
            # The side panel's poll keeps its ETag (revalidated, never reused unasked).
            patch_cache_control(response, no_store=True, private=True)
        return response
