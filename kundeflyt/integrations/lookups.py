"""Smart lookups (S6, D5): links from a card field to external search services."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

LOOKUPS: dict[str, tuple[str, Callable[[str], str]]] = {
    "proff": ("Proff", lambda v: f"https://www.proff.no/bransjes%C3%B8k?q={quote_plus(v)}"),
    "brreg": (
        "Brønnøysund",
        lambda v: f"https://virksomhet.brreg.no/nb/oppslag/enheter/{quote(v.replace(' ', ''))}",
    ),
    "gulesider": ("Gule Sider", lambda v: f"https://www.gulesider.no/{quote(v)}/personer"),
    "google": ("Google", lambda v: f"https://www.google.com/search?q={quote_plus(v)}"),
    "maps": ("Kart", lambda v: f"https://www.google.com/maps/search/?api=1&query={quote_plus(v)}"),
}


def lookup_links(keys: Iterable[str], value: Any) -> list[tuple[str, str]]:
    """(label, url) for each known lookup service; nothing for an empty value."""
    if value in (None, "", []):
        return []
    text = str(value)
    return [(LOOKUPS[k][0], LOOKUPS[k][1](text)) for k in keys if k in LOOKUPS]
