"""Kundeflyt speaks Norwegian: the bokmål catalogue translates every source string, it is up to
date with the source, and pages rendered in nb read Norwegian."""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from kundeflyt.accounts.models import User

PACKAGE = Path(settings.BASE_DIR) / "kundeflyt"
NB_PO = PACKAGE / "locale" / "nb" / "LC_MESSAGES" / "django.po"
EN_PO = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
NB_MO = NB_PO.with_suffix(".mo")

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


# --- A tiny .po reader ------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # -1 for a singular msgstr
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(text: str) -> str:
    return ast.literal_eval(text)  # a PO string is a C string; these escapes are Python's too


def read_po(path: Path) -> list[Entry]:
    """The entries of a PO file, the header included (its msgid is ""); obsolete ones skipped."""
    entries: list[Entry] = []
    entry = Entry()
    last: tuple[str, int] | None = None  # the keyword that a continuation line extends

    def finish() -> None:
        nonlocal entry, last
        if last is not None:
            entries.append(entry)
        entry, last = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if last is not None:  # a comment after a message starts the next one
                finish()
            entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
        elif line.startswith("#"):
            if last is not None:
                finish()
        elif match := _KEYWORD.match(line):
            keyword, index, value = match.group(1), match.group(2), _unquote(match.group(3))
            if keyword == "msgid" and last is not None and last[0] != "msgctxt":
                finish()
            entry.line = entry.line or number
            if keyword == "msgctxt":
                entry.msgctxt, last = value, ("msgctxt", 0)
            elif keyword == "msgid":
                entry.msgid, last = value, ("msgid", 0)
            elif keyword == "msgid_plural":
                entry.msgid_plural, last = value, ("msgid_plural", 0)
            else:
                slot = int(index) if index is not None else -1
                entry.msgstr[slot], last = value, ("msgstr", slot)
        elif line.startswith('"') and last is not None:
            value = _unquote(line)
            kind, slot = last
            if kind == "msgstr":
                entry.msgstr[slot] += value
            elif kind == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + value
            elif kind == "msgid":
                entry.msgid += value
            else:
                entry.msgid_plural = (entry.msgid_plural or "") + value
        else:
            raise ValueError(f"{path}:{number}: cannot read {raw!r}")
    finish()
    return entries


def messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid != "" or e.msgctxt is not None]


def header(entries: list[Entry]) -> dict[str, str]:
    first = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    lines = first.msgstr.get(-1, "").splitlines()
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in lines) if k}


def test_the_reader_handles_multi_line_and_plural_entries(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: nb\\n"\n\n'
        '#, fuzzy, python-format\nmsgid ""\n"Long %(a)s "\n"text"\nmsgstr "Lang %(a)s tekst"\n\n'
        'msgctxt "menu"\nmsgid "%(n)s day"\nmsgid_plural "%(n)s days"\n'
        'msgstr[0] "%(n)s dag"\nmsgstr[1] ""\n"%(n)s dager"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Borte"\n',
        encoding="utf-8",
    )
    entries = read_po(po)
    assert header(entries) == {"Language": "nb"}
    long, plural = messages(entries)
    assert (long.msgid, long.msgstr, long.flags) == (
        "Long %(a)s text",
        {-1: "Lang %(a)s tekst"},
        {"fuzzy", "python-format"},
    )
    assert plural.msgctxt == "menu"
    assert (plural.msgid, plural.msgid_plural) == ("%(n)s day", "%(n)s days")
    assert plural.msgstr == {0: "%(n)s dag", 1: "%(n)s dager"}


# --- (a) The bokmål catalogue is complete -----------------------------------------------------


def test_both_catalogues_exist() -> None:
    assert NB_PO.is_file(), "run `make makemessages`"
    assert EN_PO.is_file(), "run `make makemessages`"
    assert header(read_po(EN_PO)).get("Language") == "en"


def test_the_nb_header_names_the_language_charset_and_plural_forms() -> None:
    entries = read_po(NB_PO)
    meta = header(entries)
    assert meta.get("Language") == "nb"
    assert "charset=UTF-8" in meta.get("Content-Type", "")
    assert meta.get("Plural-Forms") == "nplurals=2; plural=(n != 1);"
    first = next(e for e in entries if e.msgid == "")
    assert "fuzzy" not in first.flags


def test_every_nb_message_is_translated_and_none_is_fuzzy() -> None:
    entries = messages(read_po(NB_PO))
    assert len(entries) > 100
    fuzzy = [str(e) for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, "fuzzy translations (check them, then drop the flag):\n" + "\n".join(fuzzy)
    empty = [str(e) for e in entries if not e.msgstr or not all(e.msgstr.values())]
    assert not empty, "untranslated:\n" + "\n".join(empty)
    plurals = [e for e in entries if e.msgid_plural is not None]
    wrong_forms = [str(e) for e in plurals if set(e.msgstr) != {0, 1}]
    assert not wrong_forms, "nb has two plural forms:\n" + "\n".join(wrong_forms)


def test_nb_translations_keep_the_placeholders_of_the_source() -> None:
    wrong = []
    for e in messages(read_po(NB_PO)):
        source = set(PLACEHOLDER.findall(e.msgid + (e.msgid_plural or "")))
        for slot, text in e.msgstr.items():
            # The singular form of a plural may leave out the number ("one customer").
            needed = source - {"n", "count"} if slot == 0 else source
            found = set(PLACEHOLDER.findall(text))
            if not needed <= found or not found <= source:
                wrong.append(f"{e}: {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


# --- (b) The catalogue is up to date with the source ------------------------------------------


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="xgettext (GNU gettext) not on PATH")
def test_the_nb_catalogue_has_exactly_the_messages_of_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "kundeflyt"
    shutil.copytree(
        PACKAGE,
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "locale", "static"),
    )
    (copy / "locale").mkdir()
    # makemessages writes to LOCALE_PATHS[0]: point it at the copy, never the real catalogue.
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=["nb"], no_location=True, no_obsolete=True, verbosity=0)

    fresh = {e.key for e in messages(read_po(copy / "locale" / "nb" / "LC_MESSAGES" / "django.po"))}
    committed = {e.key for e in messages(read_po(NB_PO))}
    new = sorted(msgid for _, msgid in fresh - committed)
    gone = sorted(msgid for _, msgid in committed - fresh)
    assert not new, "new in the source: run `make makemessages` and translate:\n" + "\n".join(new)
    assert not gone, "no longer in the source: run `make makemessages`:\n" + "\n".join(gone)


# --- (c) Pages rendered in nb read Norwegian --------------------------------------------------


@pytest.fixture(autouse=True)
def compiled_catalogue(request: pytest.FixtureRequest) -> None:
    if "client" in request.fixturenames:
        assert NB_MO.is_file(), "the .mo files are built, not committed: run `make messages`"


@pytest.mark.django_db
def test_the_admin_login_page_speaks_norwegian(client: Client) -> None:
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="nb")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="nb"' in page
    assert "Kundeflyt – administrasjon" in page  # ours
    assert "Brukernavn" in page and "Passord" in page  # Django's own
    assert "Kundeflyt administration" not in page
    assert "Username" not in page


@pytest.mark.django_db
def test_the_admin_login_page_still_speaks_english_when_asked(client: Client) -> None:
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert "Kundeflyt administration" in page
    assert "Kundeflyt – administrasjon" not in page


@pytest.mark.django_db
def test_the_admin_index_speaks_norwegian_to_a_norwegian_superuser(
    client: Client, admin_user: User
) -> None:
    assert admin_user.language == "nb"
    client.force_login(admin_user)
    response = client.get(reverse("admin:index"))
    page = response.content.decode()
    assert response.status_code == 200
    norwegian = [
        "Oppsett",  # index title
        "Dataeiere og kunder",
        "Brukere og team",
        "Kundeflyter",
        "Sperreliste",
        "Endringslogg",
        "Korrigeringsforespørsler",
    ]
    english = [
        "Set-up",
        "Data owners and customers",
        "Users and teams",
        "Customer flows",
        "Block list",
        "Audit trail",
        "Correction requests",
    ]
    assert [word for word in norwegian if word not in page] == []
    assert [word for word in english if word in page] == []
