"""Columns to fields, and cells to stored values, by the card's validators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import phonenumbers
import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from kundeflyt.common.errors import DomainError
from kundeflyt.crm.services import customer_value_clean
from kundeflyt.imports.cells import (
    RowCleaner,
    _valid_national,
    auto_mapping,
    clean_cell,
    fast_email,
    fast_phone,
    parse_date,
    targets,
)
from tests.imports.conftest import Place


def test_columns_are_matched_by_header_key_and_label_in_both_languages(place: Place) -> None:
    available = targets(list(place.crm.fields.all()))
    header = [
        "Kundenummer",  # a usual header for the customer id
        "Fornavn",
        "Etternavn",  # first and last name both go to the name
        "Mobil",
        "Telefon",  # a second phone column fills phone 2
        "E-post",
        "postcode",  # the field's key
        "POSTSTED",  # its label, in another case
        "Fødselsdato",
        "Noe annet",
    ]

    mapping = auto_mapping(header, available)

    assert mapping == {
        0: "customer_id",
        1: "name",
        2: "name",
        3: "phone1",
        4: "phone2",
        5: "email",
        6: "postcode",
        7: "city",
        8: "birth_date",
    }


def test_english_headers_match_too(place: Place) -> None:
    available = targets(list(place.crm.fields.all()))
    with translation.override("en"):
        mapping = auto_mapping(["Customer id", "Name", "Phone", "Phone 2", "E-mail"], available)
    assert mapping == {0: "customer_id", 1: "name", 2: "phone1", 3: "phone2", 4: "email"}


def test_short_forms_of_a_fields_label_match_when_only_one_field_fits(place: Place) -> None:
    available = targets(list(place.crm.fields.all()))
    mapping = auto_mapping(["Nr", "Postnr", "Sted", "Post"], available)
    assert mapping == {1: "postcode", 2: "city"}  # "Post" fits two fields: left to the user


def test_the_remembered_mapping_wins(place: Place) -> None:
    available = targets(list(place.crm.fields.all()))
    mapping = auto_mapping(["Kundenr", "Info"], available, {"info": "notes", "kundenr": "nope"})
    assert mapping == {0: "customer_id", 1: "notes"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("31.12.2024", "2024-12-31"),
        ("1.2.1980", "1980-02-01"),
        ("31/12/2024", "2024-12-31"),
        ("31-12-2024", "2024-12-31"),
        ("2024-12-31", "2024-12-31"),
        ("2024-12-31 00:00:00", "2024-12-31"),
        (dt.date(1980, 2, 1), "1980-02-01"),
        (dt.datetime(1980, 2, 1, 13, 0), "1980-02-01"),
        (29252.0, "1980-02-01"),  # an Excel date serial
        ("29252", "1980-02-01"),  # …and as text in a CSV
        ("", None),
    ],
)
def test_dates_in_norwegian_iso_and_excel_forms(cell: object, expected: str | None) -> None:
    assert parse_date(cell, field="d", label="Dato") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "cell", ["31.02.2024", "12.03.80", "i går", "0001-01-01", "9999-12-31", 0.5]
)
def test_dates_outside_sense_are_refused(cell: object) -> None:
    with pytest.raises(DomainError) as refused:
        parse_date(cell, field="birth_date", label="Fødselsdato")  # type: ignore[arg-type]
    assert refused.value.field == "birth_date"


def test_cells_are_cleaned_as_the_card_cleans_them(place: Place) -> None:
    by_key = {t.key: t for t in targets(list(place.crm.fields.all()))}

    assert clean_cell(by_key["phone1"], "912 34 567") == "+4791234567"
    assert clean_cell(by_key["phone1"], 91234567.0) == "+4791234567"  # Excel's number
    assert clean_cell(by_key["customer_id"], 1001.0) == "1001"
    assert clean_cell(by_key["email"], "Kari@Example.NO") == "kari@example.no"
    assert clean_cell(by_key["postcode"], "0150") == "0150"
    assert clean_cell(by_key["consumption"], "12 345,5") == "12345.5"  # decimal comma
    assert clean_cell(by_key["consumption"], 20000.0) == 20000
    assert clean_cell(by_key["gender"], "kvinne") == "Kvinne"  # a choice in another case
    for key, cell in [
        ("phone1", "12"),
        ("email", "kari@"),
        ("gender", "Annet"),
        ("postcode", "O150"),
    ]:
        with pytest.raises(DomainError) as refused:
            clean_cell(by_key[key], cell)
        assert refused.value.field == key


def test_a_row_names_each_bad_cell_and_joins_first_and_last_name(place: Place) -> None:
    header = ["Kundenr", "Fornavn", "Etternavn", "Mobil", "Postnummer", "Ekstra"]
    cleaner = RowCleaner(
        header,
        {0: "customer_id", 1: "name", 2: "name", 3: "phone1", 4: "postcode"},
        targets(list(place.crm.fields.all())),
        rest_field="notes",
    )

    good = cleaner.clean(["1", "Kari", "Nordmann", "91234567", "0150", "Kom via nettside"])
    bad = cleaner.clean(["2", "Ola", "", "123", "abc", ""])

    assert good.values == {"customer_id": "1", "name": "Kari Nordmann", "phone1": "+4791234567"}
    assert good.fields == {"postcode": "0150", "notes": "Ekstra: Kom via nettside"}
    assert good.errors == []
    assert [(e.column, e.value) for e in bad.errors] == [("Mobil", "123"), ("Postnummer", "abc")]
    assert all(e.reason for e in bad.errors)


# --- The fast paths give what the card's validators give -----------------------------------

phone_texts = st.one_of(
    st.from_regex(r"(\+47 ?|0047)?[2-9][0-9]{2} ?[0-9]{2} ?[0-9]{3}", fullmatch=True),
    st.from_regex(r"(\+|00)?[0-9 ]{1,14}", fullmatch=True),
    st.text(alphabet="0123456789+ -()", max_size=16),
    st.text(max_size=12),
)
email_texts = st.one_of(
    st.from_regex(r"[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,10}\.(no|com|example|x)", fullmatch=True),
    st.emails(),
    st.text(max_size=20),
    st.sampled_from(["kari@localhost", "a@[127.0.0.1]", " Kari@Example.NO ", "a@b", "@b.no"]),
)


def same_as_the_card(fast: Callable[[str], str], slow: Callable[[str], str], text: str) -> None:
    try:
        expected: str | DomainError = slow(text)
    except DomainError as error:
        expected = error
    try:
        got: str | DomainError = fast(text)
    except DomainError as error:
        got = error
    if isinstance(expected, DomainError):
        assert isinstance(got, DomainError), (text, got)
        assert (got.field, got.message) == (expected.field, expected.message)
    else:
        assert got == expected, text


@settings(max_examples=400)
@given(phone_texts)
def test_the_fast_phone_path_is_the_cards_validator(text: str) -> None:
    same_as_the_card(
        lambda t: fast_phone(t, field="phone1"),
        lambda t: customer_value_clean("phone1", t),
        text,
    )


@settings(max_examples=400)
@given(email_texts)
def test_the_fast_email_path_is_the_cards_validator(text: str) -> None:
    same_as_the_card(fast_email, lambda t: customer_value_clean("email", t), text)


def _phonenumbers_says(code: int, digits: str) -> bool:
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(digits))
    return bool(phonenumbers.is_valid_number(number))


def test_the_number_check_agrees_with_phonenumbers_for_every_norwegian_series() -> None:
    # Every three-digit series, at its start, middle and end (the metadata's patterns are
    # series of leading digits), plus the numbers of Svalbard (+47 79…).
    for series in range(200, 1000):
        for rest in ("00000", "45678", "99999"):
            digits = f"{series}{rest}"
            assert _valid_national(47, digits) == _phonenumbers_says(47, digits), digits


@settings(max_examples=1000)
@given(st.integers(min_value=20_000_000, max_value=99_999_999))
def test_the_number_check_agrees_with_phonenumbers(number: int) -> None:
    assert _valid_national(47, str(number)) == _phonenumbers_says(47, str(number))
