"""What an SMS costs and says: its encoding and segment count, and a template's text filled in
for one customer.

GSM 03.38's 7-bit alphabet holds the Norwegian letters (æ ø å Æ Ø Å), so plain Norwegian
fits 160 characters a message. One character outside it (an emoji, a curly quote pasted
from a word processor, ê) turns the whole message into UCS-2, at 70. Long messages are
split in parts with a header each: 153 or 67 characters a part."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")  # two septets each: escape and character


@dataclass(frozen=True)
class Measure:
    encoding: str  # "GSM-7" or "UCS-2"
    length: int  # in the encoding's units (septets or UTF-16 code units)
    segments: int
    per_segment: int

    @property
    def left(self) -> int:
        """Characters left before another segment starts."""
        return self.segments * self.per_segment - self.length if self.length else 160


def measure(text: str) -> Measure:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        length = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    if length <= single:
        return Measure(encoding, length, 1 if length else 0, single)
    return Measure(encoding, length, -(-length // part), part)


# The placeholders every template may use beside the CRM's field keys, each with what it
# stands for (``services.template_values``): Norwegian and English names alike.
STANDARD_PLACEHOLDERS = {
    "name": "name",
    "navn": "name",
    "customer_id": "customer_id",
    "kundenr": "customer_id",
    "email": "email",
    "epost": "email",
    "agent": "agent",
    "selger": "agent",
}
PLACEHOLDER = re.compile(r"\{([^{}\s]{1,60})\}")


def placeholders(text: str) -> list[str]:
    """The placeholder names a template uses, in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each known ``{name}`` replaced; unknown ones stay as written, so that
    the agent sees them in the preview."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
