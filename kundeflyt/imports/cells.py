"""From a file's columns to a customer's fields: which column goes where (matched by header,
by field key and by label, in Norwegian and English), and each cell checked and normalised
by the card's own validators (``crm.services.customer_value_clean``), after what only a file
needs: numbers Excel stored as floats, Excel date serials, Norwegian dates, choices written in
another case, first and last names in two columns.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kundeflyt.common.bounds import FIELD_TEXT, bounded_text
from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import FieldType
from kundeflyt.crm.models import FieldDefinition
from kundeflyt.crm.services import STANDARD_FIELDS, STANDARD_LENGTHS, customer_value_clean
from kundeflyt.handling.selectors.screen import standard_field_label
from kundeflyt.imports.files import Cell, Row, cell_text
from kundeflyt.imports.models import HEADER_LENGTH, VALUE_LENGTH

PHONES = ("phone1", "phone2", "phone3")
# Consent to marketing (markedsføringsloven § 15): the day it was given, and how.
CONSENT = ("marketing_consent_on", "marketing_consent_source")
# Dates an import accepts: a sane window, so no year 1 or 9999 is stored (rule 12).
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)
EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (it counts a 29.02.1900 that never was)

# Headers client files use for the standard fields, beside the fields' own labels. Compared
# after `normalised` (lower case, letters and digits only).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customerid",
        "customerno",
        "customernumber",
        "kundeid",
        "kundenr",
        "kundenummer",
        "kundeno",
        "id",
    ),
    "name": (
        "name",
        "navn",
        "fulltnavn",
        "fullname",
        "kundenavn",
        "customername",
        "firmanavn",
        "bedrift",
        "company",
        "companyname",
        "fornavn",
        "etternavn",
        "firstname",
        "lastname",
        "surname",
        "givenname",
    ),
    "phone": (
        "phone",
        "telephone",
        "mobile",
        "mobilephone",
        "cellphone",
        "phonenumber",
        "telefon",
        "telefonnummer",
        "tlf",
        "tlfnr",
        "mobil",
        "mobiltelefon",
        "mobilnummer",
        "mobilnr",
    ),
    "email": ("email", "emailaddress", "mail", "epost", "epostadresse"),
    "marketing_consent_on": (
        "samtykke",
        "samtykkedato",
        "markedsforingssamtykke",
        "markedsføringssamtykke",
        "samtykketilmarkedsføring",
        "consent",
        "consentdate",
        "marketingconsent",
    ),
    "marketing_consent_source": ("samtykkekilde", "kildesamtykke", "consentsource"),
}


def normalised(header: str) -> str:
    return re.sub(r"[\W_]+", "", header.casefold())


@dataclass(frozen=True)
class Target:
    """A field a column can go to: a standard field of every customer, or one of the CRM's."""

    key: str
    label: str
    definition: FieldDefinition | None = None

    @property
    def type(self) -> str:
        return self.definition.type if self.definition else "standard"

    @property
    def required(self) -> bool:
        return self.key == "customer_id" or bool(self.definition and self.definition.required)


def standard_labels() -> dict[str, str]:
    """The standard fields' labels as the card shows them, and the consent's, in the reader's
    language."""
    labels = {key: standard_field_label(key) for key in STANDARD_FIELDS}
    labels["marketing_consent_on"] = _("Consented to marketing (date)")
    labels["marketing_consent_source"] = _("Consent given how")
    return labels


def targets(definitions: Sequence[FieldDefinition]) -> list[Target]:
    """Every field a column can go to, standard fields first, in the CRM's order, then the
    consent to marketing."""
    labels = standard_labels()
    return (
        [Target(key, labels[key]) for key in STANDARD_FIELDS]
        + [Target(d.key, d.label, d) for d in definitions]
        + [Target(key, labels[key]) for key in CONSENT]
    )


def _names_of(target: Target) -> set[str]:
    """How a header may name the target: its key, its label in nb and en, and, for the
    standard fields, the usual headers of client files."""
    names = {normalised(target.key)}
    for language in ("nb", "en"):
        with translation.override(language):
            if target.definition is None:
                names.add(normalised(standard_labels()[target.key]))
            else:
                names.add(normalised(_(target.definition.label)))
    if target.key in PHONES:
        names |= {normalised(target.key)}
    elif target.key in SYNONYMS:
        names |= set(SYNONYMS[target.key])
    return {n for n in names if n}


def auto_mapping(
    header: Sequence[str],
    available: Sequence[Target],
    remembered: Mapping[str, str] | None = None,
) -> dict[int, str]:
    """Column position → target key: the CRM's remembered mapping first, then by key and
    label. Phone columns fill phone, phone 2 and phone 3 in order; several name columns
    (first name, last name) all go to the name."""
    keys = {t.key for t in available}
    by_name: dict[str, str] = {}
    for target in available:
        for name in _names_of(target):
            by_name.setdefault(name, target.key)
    phone_names = set(SYNONYMS["phone"]) | {normalised(standard_labels()["phone1"])}
    with translation.override("nb"):
        phone_names.add(normalised(standard_labels()["phone1"]))
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for position, raw in enumerate(header):
        name = normalised(raw)
        if not name:
            continue
        wanted = (remembered or {}).get(name)
        if wanted not in keys:
            wanted = by_name.get(name)
        if wanted is None and name in phone_names:
            wanted = "phone1"
        if wanted is None:
            wanted = _near(name, by_name, taken)
        if wanted is None:
            continue
        if wanted in PHONES and wanted in taken:
            wanted = next((p for p in PHONES if p not in taken), "")
        if not wanted or (wanted in taken and wanted != "name"):
            continue
        mapping[position] = wanted
        taken.add(wanted)
    return mapping


def _near(name: str, by_name: Mapping[str, str], taken: set[str]) -> str | None:
    """A heading that is a short form of exactly one field's name: “Postnr” for “Postnummer”,
    “Sted” for “Poststed”, “Tlf.” for “Telefon” (at least four letters in common)."""
    if name.endswith("nr"):
        name = name[:-2] + "nummer"
    if len(name) < 4:
        return None
    found = {
        key
        for known, key in by_name.items()
        if len(known) >= 4
        and (known.startswith(name) or name.startswith(known) or known.endswith(name))
    }
    return found.pop() if len(found) == 1 and not found & taken else None


# --- Cells ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellError:
    column: str
    value: str
    reason: str


def _plain(cell: Cell) -> Any:
    """A spreadsheet's number as the text it shows (customer ids, phones and postcodes are
    stored by Excel as floats); text stripped."""
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 1e15:
        return str(int(cell))
    if isinstance(cell, float):
        return repr(round(cell, 6))
    if isinstance(cell, int) and not isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, str):
        return cell.strip()
    return cell


_DATE_FORMATS = (
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), "dmy"),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), "dmy"),
    (re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"), "dmy"),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"), "ymd"),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}) \d{1,2}:\d{2}(?::\d{2})?"), "dmy"),
)
_SERIAL = re.compile(r"\d{1,5}(?:[.,]0+)?")


def parse_date(cell: Cell, *, field: str, label: str) -> str | None:
    """A date as ISO text: a spreadsheet date, an Excel date serial, or text in Norwegian
    (31.12.2024, 31/12/2024, 31-12-2024) or ISO (2024-12-31) form; from 1900 to 2100."""
    day: dt.date | None = None
    if isinstance(cell, dt.datetime):
        day = cell.date()
    elif isinstance(cell, dt.date):
        day = cell
    elif isinstance(cell, int | float) and not isinstance(cell, bool):
        day = _from_serial(float(cell))
    else:
        text = str(cell or "").strip()
        if not text:
            return None
        if _SERIAL.fullmatch(text):
            day = _from_serial(float(text.replace(",", ".")))
        else:
            day = _from_text(text)
    if day is None:
        raise DomainError(
            _("“%(value)s” is not a date (use dd.mm.yyyy).") % {"value": cell_text(cell)[:50]},
            field=field,
        )
    if not FIRST_DATE <= day <= LAST_DATE:
        raise DomainError(
            _("%(name)s: %(date)s is not between 1900 and 2100.")
            % {"name": label, "date": day.strftime("%d.%m.%Y")},
            field=field,
        )
    return day.isoformat()


def _from_serial(serial: float) -> dt.date | None:
    if not 1 <= serial < 80_000:
        return None
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _from_text(text: str) -> dt.date | None:
    for pattern, order in _DATE_FORMATS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        a, b, c = (int(g) for g in match.groups())
        year, month, day = (c, b, a) if order == "dmy" else (a, b, c)
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    return None


def _choice(cell: Cell, choices: Sequence[str]) -> Any:
    """A choice written in another case is the choice (“ja” for “Ja”)."""
    text = str(_plain(cell) or "")
    by_fold = {c.casefold(): c for c in choices}
    return by_fold.get(text.casefold(), text)


def _choices(cell: Cell, choices: Sequence[str]) -> list[str]:
    text = str(_plain(cell) or "")
    parts = [p.strip() for p in re.split(r"[;,|]", text) if p.strip()]
    return [_choice(p, choices) for p in parts]


def clean_cell(target: Target, cell: Cell) -> Any:
    """The value stored for ``cell`` in ``target``, or a DomainError naming the field."""
    return cell_cleaner(target)(cell)


def cell_cleaner(target: Target) -> Callable[[Cell], Any]:
    """The function that cleans one target's cells, chosen once per column (an import calls it
    a million times)."""
    definition = target.definition
    key = target.key
    if definition is None:
        if key == "marketing_consent_on":

            def consent_day(cell: Cell) -> dt.date | None:
                iso = parse_date(cell, field=key, label=target.label)
                day = dt.date.fromisoformat(iso) if iso else None
                if day is not None and day > timezone.localdate():
                    raise DomainError(_("The consent cannot be given in the future."), field=key)
                return day

            return consent_day
        if key == "marketing_consent_source":
            return lambda cell: bounded_text(
                _plain(cell) if cell is not None else "", field=key, max_length=200
            )
        if key in PHONES:
            return lambda cell: fast_phone(_plain(cell) if cell is not None else "", field=key)
        if key == "email":
            return lambda cell: fast_email(_plain(cell) if cell is not None else "")
        return lambda cell: customer_value_clean(key, _plain(cell) if cell is not None else "")
    if definition.type == FieldType.DATE:

        def date(cell: Cell) -> Any:
            iso = parse_date(cell, field=definition.key, label=definition.label)
            # parse_date refuses what the card's date check would, and more (years outside
            # 1900–2100); only an empty cell still needs the card's "required".
            if iso is None:
                return customer_value_clean(key, iso, definition)
            return iso

        return date
    if definition.type == FieldType.CHECKBOX:
        return lambda cell: (
            cell if isinstance(cell, bool) else customer_value_clean(key, _plain(cell), definition)
        )
    if definition.type == FieldType.CHOICE:
        return lambda cell: customer_value_clean(key, _choice(cell, definition.choices), definition)
    if definition.type == FieldType.MULTICHOICE:
        return lambda cell: customer_value_clean(
            key, _choices(cell, definition.choices), definition
        )
    return lambda cell: customer_value_clean(key, _plain(cell), definition)


# --- Fast paths -----------------------------------------------------------------------------
#
# A million rows are a million phone numbers and e-mail addresses; parsing them costs most of
# an import's time. These paths give exactly what the card's validators give for the common
# spellings (tests/imports/test_cells.py compares them on generated input), and hand anything
# else, every refusal included, to those validators.

_NATIONAL = re.compile(r"(?:\+|00)?([0-9]+)")


@functools.cache
def _home() -> tuple[str, int]:
    region = str(settings.PHONE_DEFAULT_REGION)
    return region, phonenumbers.country_code_for_region(region)


def fast_phone(raw: Any, *, field: str) -> str:
    """A Norwegian number written as 8 digits (spaces allowed) or with +47/0047 in front, in
    E.164, validated by phonenumbers' own metadata without parsing the text; anything else
    through ``customer_value_clean``."""
    text = str(raw).replace(" ", "") if isinstance(raw, str) else ""
    region, code = _home()
    match = _NATIONAL.fullmatch(text) if region == "NO" and 0 < len(text) <= 14 else None
    if match is not None:
        digits = match.group(1)
        international = text[0] in "+0" and text != digits
        prefix = str(code)
        if international and digits.startswith(prefix):
            digits = digits[len(prefix) :]
        elif international:
            digits = ""  # another country: phonenumbers decides
        if len(digits) == 8 and digits[0] in "23456789" and _valid_national(code, digits):
            return f"+{code}{digits}"
    return str(customer_value_clean(field, raw))


Pattern = tuple[tuple[int, ...], "re.Pattern[str]"]
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


@functools.cache
def _number_patterns(code: int) -> list[tuple[re.Pattern[str] | None, Pattern, list[Pattern]]]:
    """phonenumbers' own metadata for the regions of a country code, compiled once: each
    region's leading digits, its general pattern, and the pattern of every number type."""

    def pattern(desc: Any) -> Pattern | None:
        if desc is None or not desc.national_number_pattern:
            return None
        return tuple(desc.possible_length), re.compile(desc.national_number_pattern)

    regions = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        kinds = [getattr(metadata, kind) for kind in _TYPES]
        if not metadata.same_mobile_and_fixed_line_pattern:
            kinds.append(metadata.mobile)
        general = pattern(metadata.general_desc)
        if general is None:
            continue
        leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        regions.append((leading, general, [p for p in map(pattern, kinds) if p is not None]))
    return regions


def _matches(pattern: Pattern, digits: str) -> bool:
    lengths, regex = pattern
    return (not lengths or len(digits) in lengths) and regex.fullmatch(digits) is not None


def _valid_national(code: int, digits: str) -> bool:
    """``phonenumbers.is_valid_number`` for +code digits, on its own metadata, without
    building a number object: the region by its leading digits (the only one, if a code has
    one), then the general pattern, then any number type. A code whose regions this cannot
    tell apart goes to phonenumbers itself."""
    regions = _number_patterns(code)
    if len(regions) > 1 and any(leading is None for leading, _g, _k in regions):
        number = phonenumbers.PhoneNumber(country_code=code, national_number=int(digits))
        return bool(phonenumbers.is_valid_number(number))
    for leading, general, kinds in regions:
        if len(regions) == 1 or (leading is not None and leading.match(digits)):
            return _matches(general, digits) and any(_matches(k, digits) for k in kinds)
    return False


@functools.lru_cache(maxsize=4096)
def _domain_ok(domain: str) -> bool:
    return bool(EmailValidator().validate_domain_part(domain))


class _CachedDomains(EmailValidator):
    """Django's e-mail check, remembering which domains passed (a list has few)."""

    def validate_domain_part(self, domain_part: str) -> bool:
        return _domain_ok(domain_part)


_EMAIL = _CachedDomains()


def fast_email(raw: Any) -> str:
    """An e-mail address as the card stores it (lower case), Django's validator with its
    domain check remembered; refusals through ``customer_value_clean``."""
    if isinstance(raw, str):
        text = raw.strip()
        if text and len(text) <= STANDARD_LENGTHS["email"] and text.isprintable():
            try:
                _EMAIL(text)
            except ValidationError:
                pass
            else:
                return text.lower()
    return str(customer_value_clean("email", raw))


# --- Rows ---------------------------------------------------------------------------------------


@dataclass
class CleanRow:
    """A row as it will be stored: the standard fields, the CRM's own fields, and what was
    wrong with it (a row with errors is rejected as a whole)."""

    values: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)

    @property
    def phones(self) -> list[str]:
        return [p for p in (self.values.get(k) for k in PHONES) if p]


class RowCleaner:
    """Cleans the rows of one file with one mapping."""

    def __init__(
        self,
        header: Sequence[str],
        mapping: Mapping[int, str],
        available: Iterable[Target],
        *,
        rest_field: str = "",
        generate_ids: bool = False,
    ) -> None:
        self.generate_ids = generate_ids
        by_key = {t.key: t for t in available}
        self.header = list(header)
        self.columns: list[tuple[int, Target]] = [
            (position, by_key[key]) for position, key in sorted(mapping.items()) if key in by_key
        ]
        self.name_columns = [p for p, t in self.columns if t.key == "name"]
        self.name_target = by_key.get("name") or Target("name", "name")
        self.columns = [(p, t) for p, t in self.columns if t.key != "name"]
        self.cleaners = {t.key: cell_cleaner(t) for t in by_key.values()}
        self.rest = [
            p for p in range(len(self.header)) if p not in mapping and self.header[p].strip()
        ]
        self.rest_target = by_key.get(rest_field) if rest_field else None
        mapped = {t.key for _p, t in self.columns} | ({"name"} if self.name_columns else set())
        # Required fields no column fills: every row is refused for them.
        self.missing = [
            t for t in by_key.values() if t.required and t.key not in mapped and t.definition
        ]
        # What a new customer holds in the CRM fields no column fills (as customer_create).
        self.defaults = {
            t.key: clean_cell(t, None)
            for t in by_key.values()
            if t.definition is not None and t.key not in mapped and not t.required
        }

    def column_name(self, position: int) -> str:
        if position < len(self.header) and self.header[position]:
            return self.header[position][:HEADER_LENGTH]
        return _("Column %(n)s") % {"n": position + 1}

    def clean(self, cells: Row) -> CleanRow:
        row = CleanRow()
        for position, target in self.columns:
            cell = cells[position] if position < len(cells) else None
            if target.key == "customer_id" and self.generate_ids and not cell_text(cell):
                row.values["customer_id"] = ""  # the import makes one
                continue
            self._put(row, target, position, cell)
        if self.name_columns:
            parts = [
                str(_plain(cells[p])) for p in self.name_columns if p < len(cells) and cells[p]
            ]
            joined = " ".join(p for p in parts if p)
            self._put(row, self.name_target, self.name_columns[0], joined)
        if self.rest_target is not None:
            text = "; ".join(
                f"{self.header[p]}: {cell_text(cells[p])}"
                for p in self.rest
                if p < len(cells) and cell_text(cells[p])
            )
            if text:
                self._put(row, self.rest_target, None, text[: FIELD_TEXT + 1])
        for target in self.missing:
            row.errors.append(
                CellError("", "", _("%(name)s is required.") % {"name": target.label})
            )
        return row

    def _put(self, row: CleanRow, target: Target, position: int | None, cell: Cell) -> None:
        try:
            value = self.cleaners[target.key](cell)
        except DomainError as error:
            column = self.column_name(position) if position is not None else target.label
            row.errors.append(CellError(column, cell_text(cell)[:VALUE_LENGTH], error.message))
            return
        if target.definition is None:
            row.values[target.key] = value
        else:
            row.fields[target.key] = value
