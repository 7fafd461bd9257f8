"""Domain errors: the one kind of error services raise for refused input or actions.

Pages map them to form errors and the API to 4xx JSON, in one place each.
"""

from __future__ import annotations

from django.utils.functional import Promise


class DomainError(Exception):
    """Bad input or a refused action. ``field`` names the input at fault, if any."""

    status = 400
    code = "invalid"

    def __init__(self, message: str | Promise, *, field: str | None = None, code: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        if code:
            self.code = code

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotAllowed(DomainError):
    """The actor lacks the permission, or may not see the campaign or customer."""

    status = 403
    code = "not_allowed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """Someone else got there first: held by another user, changed meanwhile, lease lost."""

    status = 409
    code = "conflict"


class Stale(DomainError):
    """The writer read an older version than the one stored: someone changed it since."""

    status = 412
    code = "stale"
