"""Optimistic writes: a resource's version goes out as its ``ETag`` and comes back as
``If-Match`` on the write that changes it; the service refuses a version that is no longer
the stored one (412)."""

from __future__ import annotations

from typing import Annotated

from ninja import Header
from ninja.errors import HttpError

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The `ETag` the resource was read with: a stale one answers 412.",
    ),
]


def etag(version: object) -> str:
    return f'"{version}"'


def sent_version(if_match: str | None, missing: str) -> str:
    """The version an ``If-Match`` names (weak or strong); 428 saying ``missing`` when the
    write names none."""
    if not if_match:
        raise HttpError(428, missing)
    return if_match.removeprefix("W/").strip('"')
