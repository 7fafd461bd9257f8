from __future__ import annotations

from typing import Any

import pytest

from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import clean_field_value, is_valid_org_number
from kundeflyt.common.phones import display_phone, normalise_phone


@pytest.mark.parametrize(
    ("type_", "raw", "clean"),
    [
        ("text", "  Hei ", "Hei"),
        ("number", "1 234,5", "1234.5"),
        ("number", "12", 12),
        ("digits", "0150", "0150"),
        ("date", "24.12.2026", "2026-12-24"),
        ("date", "2026-12-24", "2026-12-24"),
        ("email", "Kari@Firma.NO", "kari@firma.no"),
        ("phone", "22 33 44 55", "+4722334455"),
        ("link", "proff.no", "https://proff.no"),
        ("checkbox", "ja", True),
        ("checkbox", "", False),
        ("org_number", "923 609 016", "923609016"),
        ("text", "", None),
        ("multichoice", ["a"], ["a"]),
    ],
)
def test_values_are_normalised_by_type(type_: str, raw: Any, clean: Any) -> None:
    assert clean_field_value(type_, raw, field="f", choices=["a", "b"]) == clean


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("number", "mange"),
        ("digits", "12a"),
        ("date", "31.02.2026"),
        ("email", "kari@"),
        ("phone", "123"),
        ("link", "not a url"),
        ("checkbox", "kanskje"),
        ("choice", "c"),
        ("multichoice", ["a", "c"]),
        ("org_number", "923609017"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(type_: str, raw: Any) -> None:
    with pytest.raises(DomainError) as refused:
        clean_field_value(type_, raw, field="f", choices=["a", "b"])
    assert refused.value.field == "f"


def test_required_fields_refuse_empty_values() -> None:
    with pytest.raises(DomainError, match="Antall is required"):
        clean_field_value("number", " ", field="count", label="Antall", required=True)


def test_org_numbers_use_the_modulus_11_check_digit() -> None:
    assert is_valid_org_number("923609016")
    assert not is_valid_org_number("923609010")
    assert not is_valid_org_number("12345678")


@pytest.mark.parametrize("raw", ["+47 912 34 567", "91234567", "0047 91234567", "912 34 567"])
def test_norwegian_numbers_in_any_format_become_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+4791234567"
    assert display_phone("+4791234567") == "91 23 45 67"
    assert display_phone("+46701234567") == "+46 70 123 45 67"
