"""Running an import: the file's rows in pieces of ``CHUNK_ROWS``, each piece in one
transaction.

For each piece: every row is cleaned by the card's validators (a row with any bad cell is
rejected, each reason recorded); rows without a customer id get one made from the prefix and
the row's content (so the same row always gets the same id, and importing a file again
creates nothing); duplicates are found within the file and against the CRM by customer id,
by the CRM's unique fields and, when chosen, by any phone number, then skipped or used to
update the existing customer (its empty fields, or all mapped fields; an empty cell never
erases a value); numbers on the block list are screened (never placed; not created either,
when chosen); the new customers are written in one statement (``COPY`` on PostgreSQL,
``bulk_create`` elsewhere) and placed with ``placements_create``. One audit row records the
piece's new customers, one per updated customer records its change (before and after), and
the batch's counters move in the same transaction, so the page's progress is what is
committed. Helper processes may clean the next pieces meanwhile (``IMPORT_CLEANERS``).

Cancelling is honoured between pieces: what was committed stays, and the batch says so.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from kundeflyt.common.actors import actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.copying import (
    GrowingTables,
    copy_insert,
    copy_is_available,
    next_ids,
)
from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import is_empty
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import Customer, blocked_numbers_of
from kundeflyt.crm.services import customer_numbers_screen
from kundeflyt.handling.models import Placement
from kundeflyt.handling.services import placements_create
from kundeflyt.imports import files, helpers, storage
from kundeflyt.imports.cells import CONSENT, PHONES, CleanRow, RowCleaner
from kundeflyt.imports.models import (
    REASON_LENGTH,
    ImportBatch,
    ImportRowError,
    OnBlocked,
    OnDuplicate,
)
from kundeflyt.imports.services.common import Actor, actor_of, check_may_import, check_target
from kundeflyt.imports.services.setup import mapping_clean, mapping_of, row_cleaner
from kundeflyt.privacy.erased import erased_among
from kundeflyt.privacy.models import ErasedKey
from kundeflyt.privacy.register import reserved_among
from kundeflyt.webhooks.models import EventType
from kundeflyt.webhooks.services import webhook_emit

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000
# From this many rows on, helper processes (when configured) clean the rows while the import
# writes: starting one (it loads Django) costs about a second.
PARALLEL_FROM = 20_000


def cleaners() -> int:
    """How many helper processes clean rows while the import writes: ``IMPORT_CLEANERS`` when
    the settings name it, else none. On two CPUs shared with PostgreSQL a helper made imports
    slower, not faster (bench/README.md); a machine with cores to spare may set it."""
    return max(0, int(getattr(settings, "IMPORT_CLEANERS", 0) or 0))


STANDARD_VALUES = ("name", *PHONES, "email", *CONSENT)
Piece = list[tuple[int, Any]]  # rows of the file with their numbers


def run_import(batch_id: int) -> str:
    """Run a started import to its end (or until it is cancelled). Only one worker runs a
    batch: the first that moves it from *queued* to *running*. Returns the final status."""
    now = timezone.now()
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.QUEUED).update(
        status=ImportBatch.Status.RUNNING, started_at=now
    )
    if not claimed:
        return (
            ImportBatch.objects.filter(pk=batch_id).values_list("status", flat=True).first() or ""
        )
    batch = ImportBatch.objects.select_related(
        "crm__data_owner", "campaign__flow", "campaign__crm", "segment", "actor_user"
    ).get(pk=batch_id)
    actor = actor_of(batch)
    language = getattr(batch.actor_user, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        try:
            check_may_import(actor, batch.crm)
            check_target(actor, batch.crm, batch.campaign, batch.segment)
            with storage.spooled(batch) as path:
                status = Run(batch, actor).through(path)
        except DomainError as error:
            return _finish(batch.pk, ImportBatch.Status.FAILED, failure=error.message)
        except Exception:
            logger.exception("import %s failed", batch_id)
            _finish(
                batch.pk,
                ImportBatch.Status.FAILED,
                failure=_("The import stopped on an unexpected error. What it committed stays."),
            )
            raise
    return status


@transaction.atomic
def _finish(batch_id: int, status: str, *, failure: str = "") -> str:
    finished = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.RUNNING).update(
        status=status, finished_at=timezone.now(), failure=failure[:REASON_LENGTH]
    )
    if finished:
        # One message for the file: its customers come in at COPY speed, not one by one.
        batch = ImportBatch.objects.get(pk=batch_id)
        finished_with = {
            "import": batch.pk,
            "status": status,
            "created": batch.created_count,
            "updated": batch.updated_count,
            "rejected": batch.rejected_count,
        }
        webhook_emit(batch.crm_id, (EventType.IMPORT_FINISHED, finished_with))
    return status


def _chunks(rows: Iterator[tuple[int, files.Row]], size: int) -> Iterator[list[tuple[int, Any]]]:
    while piece := list(islice(rows, size)):
        yield piece


def generated_id(prefix: str, row: CleanRow) -> str:
    """A customer id made from the prefix and the row's content: the same row gets the same
    id every time, so a file imported again finds its customers."""
    content = json.dumps(
        [row.values, row.fields], sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False
    )
    return prefix + hashlib.sha256(content.encode()).hexdigest()[:16].upper()


class CreatedHere:
    """The primary keys of the customers this run created, sorted in a compact array (8 bytes
    each): a later row that finds one of them is a duplicate within the file."""

    def __init__(self) -> None:
        self.keys = array("q")

    def add(self, pks: Iterable[int]) -> None:
        new = sorted(pks)
        if new and self.keys and new[0] < self.keys[-1]:
            merged = sorted([*self.keys, *new])
            self.keys = array("q", merged)
        else:
            self.keys.extend(new)

    def __contains__(self, pk: object) -> bool:
        if not isinstance(pk, int):
            return False
        i = bisect_left(self.keys, pk)
        return i < len(self.keys) and self.keys[i] == pk


@dataclass
class Tally:
    created: int = 0
    placed: int = 0
    updated: int = 0
    duplicates: int = 0
    blocked: int = 0
    rejected: int = 0
    errors: list[ImportRowError] = field(default_factory=list)


@dataclass
class Candidate:
    number: int
    row: CleanRow
    reserved: bool = False  # a number of the row is in the Reservasjonsregisteret

    @property
    def customer_id(self) -> str:
        return str(self.row.values["customer_id"])


class Run:
    """One run of one batch through its file."""

    def __init__(self, batch: ImportBatch, actor: Actor) -> None:
        self.batch = batch
        self.actor = actor
        self.crm = batch.crm
        definitions = list(self.crm.fields.all())
        self.unique = [d for d in definitions if d.unique]
        self.prefix = batch.id_prefix
        mapping = mapping_clean(
            batch, mapping_of(batch), rest_field=batch.rest_field, generate_ids=bool(self.prefix)
        )
        self.cleaner_mapping = mapping
        self.cleaner: RowCleaner = row_cleaner(
            batch, mapping, rest_field=batch.rest_field, generate_ids=bool(self.prefix)
        )
        self.created = CreatedHere()
        self.updated: set[int] = set()
        self.now = timezone.now()  # the time of the piece being written
        self.tables = GrowingTables(Customer, Placement)
        # Erased people are looked for only in a CRM that has any (hashing costs a little).
        self.erased_in_crm = ErasedKey.objects.filter(crm=self.crm).exists()

    def through(self, path: Any) -> str:
        shape = files.FileShape(
            kind=self.batch.file_kind,
            encoding=self.batch.encoding,
            delimiter=self.batch.delimiter,
            sheets=[self.batch.sheet] if self.batch.sheet else [],
        )
        _number, _header, stream = files.header_and_rows(path, shape, sheet=self.batch.sheet)
        pieces = _chunks(stream, CHUNK_ROWS)
        processes = cleaners() if self.batch.rows_total >= PARALLEL_FROM else 0
        if processes:
            return self._with_helper_processes(pieces, processes)
        for piece in pieces:
            if self._cancel_requested():
                return _finish(self.batch.pk, ImportBatch.Status.CANCELLED)
            self.piece(piece)
        return _finish(self.batch.pk, ImportBatch.Status.DONE)

    def _with_helper_processes(self, pieces: Iterator[Piece], processes: int) -> str:
        """Helper processes clean the next pieces while this one writes the current one. They
        only clean: every write stays here, in one connection."""
        definitions = [
            {f: getattr(d, f) for f in ("key", "label", "type", "required", "unique", "choices")}
            for d in self.crm.fields.all()
        ]
        pool = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a database connection
            initializer=helpers.start,
            initargs=(
                self.batch.columns,
                self.cleaner_mapping,
                self.batch.rest_field,
                bool(self.prefix),
                definitions,
                translation.get_language(),
            ),
        )
        with pool:
            return self._ahead(
                pieces,
                pool,
                lambda piece: pool.submit(helpers.clean, [cells for _n, cells in piece]),
                depth=processes + 1,
            )

    def _ahead(
        self,
        pieces: Iterator[Piece],
        pool: Executor,
        submit: Callable[[Piece], Future[list[CleanRow]]],
        *,
        depth: int,
    ) -> str:
        """Write the pieces in the file's order while up to ``depth`` are being cleaned;
        a cancel between pieces stops it."""
        ahead: deque[tuple[Piece, Future[list[CleanRow]]]] = deque()
        finished = False
        while ahead or not finished:
            while not finished and len(ahead) < depth:
                piece = next(pieces, None)
                if piece is None:
                    finished = True
                else:
                    ahead.append((piece, submit(piece)))
            if not ahead:
                break
            if self._cancel_requested():
                pool.shutdown(cancel_futures=True)
                return _finish(self.batch.pk, ImportBatch.Status.CANCELLED)
            piece, cleaned = ahead.popleft()
            self.piece(piece, cleaned.result())
        return _finish(self.batch.pk, ImportBatch.Status.DONE)

    def _cancel_requested(self) -> bool:
        return bool(
            ImportBatch.objects.filter(pk=self.batch.pk)
            .values_list("cancel_requested", flat=True)
            .first()
        )

    # --- One piece ------------------------------------------------------------------------

    def piece(
        self, rows: list[tuple[int, files.Row]], cleaned: list[CleanRow] | None = None
    ) -> None:
        tally = Tally()
        candidates: list[Candidate] = []
        if cleaned is None:
            cleaned = [self.cleaner.clean(cells) for _number, cells in rows]
        for (number, _cells), row in zip(rows, cleaned, strict=True):
            if row.errors:
                tally.rejected += 1
                tally.errors += [
                    ImportRowError(
                        batch=self.batch,
                        row=number,
                        column=e.column,
                        value=e.value,
                        reason=e.reason[:REASON_LENGTH],
                    )
                    for e in row.errors
                ]
                continue
            if not row.values.get("customer_id"):
                row.values["customer_id"] = generated_id(self.prefix, row)
            candidates.append(Candidate(number, row))
        if self.erased_in_crm:
            candidates = self._without_erased(candidates, tally)
        with transaction.atomic():
            for attempt in range(3):
                try:
                    with transaction.atomic():
                        written = self.write(candidates)
                    break
                except IntegrityError:
                    # Someone created one of these customer ids since we looked: look again.
                    if attempt == 2:
                        raise
            tally.created, tally.placed, tally.updated, tally.duplicates, tally.blocked = written
            ImportRowError.objects.bulk_create(tally.errors, batch_size=CHUNK_ROWS)
            ImportBatch.objects.filter(pk=self.batch.pk).update(
                rows_done=F("rows_done") + len(rows),
                created_count=F("created_count") + tally.created,
                placed_count=F("placed_count") + tally.placed,
                updated_count=F("updated_count") + tally.updated,
                duplicate_count=F("duplicate_count") + tally.duplicates,
                blocked_count=F("blocked_count") + tally.blocked,
                rejected_count=F("rejected_count") + tally.rejected,
            )
        self.tables.grew(tally.created)

    def _without_erased(self, candidates: list[Candidate], tally: Tally) -> list[Candidate]:
        """Rows of people erased from the CRM are rejected, saying so: a file never brings
        an erased person back (GDPR Art. 17)."""
        erased = erased_among(
            self.crm.pk,
            customer_ids=[c.customer_id for c in candidates],
            phones=[p for c in candidates for p in c.row.phones],
        )
        if not erased:
            return candidates
        kept = []
        for candidate in candidates:
            keys = {(ErasedKey.Kind.CUSTOMER_ID, candidate.customer_id)}
            keys |= {(ErasedKey.Kind.PHONE, p) for p in candidate.row.phones}
            if not keys & erased:
                kept.append(candidate)
                continue
            tally.rejected += 1
            tally.errors.append(
                ImportRowError(
                    batch=self.batch,
                    row=candidate.number,
                    column="",
                    value="",
                    reason=_(
                        "The person was erased at their own request and is not imported again."
                    )[:REASON_LENGTH],
                )
            )
        return kept

    def write(self, candidates: list[Candidate]) -> tuple[int, int, int, int, int]:
        """Classify the rows against the CRM, then create, place and update. Returns the
        counts: created, placed, updated, duplicates, blocked."""
        self.now = timezone.now()
        existing = self._existing(candidates)
        phones = {p for c in candidates for p in c.row.phones}
        reserved = reserved_among(phones)
        blocked = set(
            blocked_numbers_of(self.batch.crm.data_owner_id)
            .filter(phone__in=phones)
            .values_list("phone", flat=True)
        )
        seen: set[tuple[str, Any]] = set()
        new: list[Customer] = []
        updates: dict[int, Candidate] = {}
        duplicates = blocked_rows = 0
        for candidate in candidates:
            keys = self._keys(candidate.row)
            if seen & keys:
                duplicates += 1  # an earlier row of this piece
                continue
            seen |= keys
            match = next((existing[k] for k in keys if k in existing), None)
            if match is not None:
                if match in self.created or match in self.updated or match in updates:
                    duplicates += 1  # an earlier row of this file
                elif self.batch.on_duplicate == OnDuplicate.SKIP:
                    duplicates += 1
                else:
                    updates[match] = candidate
                continue
            is_blocked = any(p in blocked for p in candidate.row.phones)
            candidate.reserved = any(p in reserved for p in candidate.row.phones)
            if is_blocked:
                blocked_rows += 1
                if self.batch.on_blocked == OnBlocked.SKIP:
                    continue
            new.append(self._customer(candidate, is_blocked))
        created = insert_customers(new)
        placed = 0
        if created:
            self.created.add(c.pk for c in created)
            if self.batch.campaign is not None:
                placed = placements_create(
                    self.actor,
                    customers=[c for c in created if not c.is_blocked],
                    campaign=self.batch.campaign,
                    segment=self.batch.segment,
                )
            audit(
                self.actor,
                "customer.import",
                self.batch,
                after={"batch": self.batch.pk, "created": [c.pk for c in created]},
            )
        updated, unchanged = self._update(updates) if updates else (0, 0)
        return len(created), placed, updated, duplicates + unchanged, blocked_rows

    def _keys(self, row: CleanRow) -> set[tuple[str, Any]]:
        keys: set[tuple[str, Any]] = {("customer_id", row.values["customer_id"])}
        for definition in self.unique:
            value = row.fields.get(definition.key)
            if not is_empty(value) and not isinstance(value, list):
                keys.add((definition.key, value))
        if self.batch.match_phone:
            keys |= {("phone", p) for p in row.phones}
        return keys

    def _existing(self, candidates: list[Candidate]) -> dict[tuple[str, Any], int]:
        """The CRM's customers that share a customer id, a unique field or (when chosen) a
        phone number with a row of the piece: key → customer's primary key."""
        found: dict[tuple[str, Any], int] = {}
        customers = Customer.objects.filter(crm=self.crm)
        ids = {c.customer_id for c in candidates}
        for pk, customer_id in customers.filter(customer_id__in=ids).values_list(
            "pk", "customer_id"
        ):
            found[("customer_id", customer_id)] = pk
        for definition in self.unique:
            values = {c.row.fields.get(definition.key) for c in candidates}
            values = {v for v in values if not is_empty(v) and not isinstance(v, list)}
            if values:
                lookup = {f"fields__{definition.key}__in": list(values)}
                for pk, fields in customers.filter(**lookup).values_list("pk", "fields"):
                    found.setdefault((definition.key, fields.get(definition.key)), pk)
        if self.batch.match_phone:
            phones = {p for c in candidates for p in c.row.phones}
            if phones:
                rows = customers.filter(
                    Q(phone1__in=phones) | Q(phone2__in=phones) | Q(phone3__in=phones)
                ).order_by("pk")
                for pk, *numbers in rows.values_list("pk", *PHONES):
                    for number in numbers:
                        if number in phones:
                            found.setdefault(("phone", number), pk)
        return found

    def _customer(self, candidate: Candidate, is_blocked: bool) -> Customer:
        values = candidate.row.values
        row = {
            "id": None,
            "crm_id": self.crm.pk,
            "customer_id": candidate.customer_id,
            "name": values.get("name") or "",
            "phone1": values.get("phone1") or "",
            "phone2": values.get("phone2") or "",
            "phone3": values.get("phone3") or "",
            "email": values.get("email") or "",
            "fields": {**self.cleaner.defaults, **candidate.row.fields},
            "created_at": self.now,
            "updated_at": self.now,
            "source": Customer.Source.IMPORT,
            "is_blocked": is_blocked,
            "anonymised_at": None,
            "objected_at": None,
            "is_reserved": candidate.reserved,
            "contact_basis": "",
            "contact_basis_on": None,
            "contact_basis_source": "",
            **self._consent(values),
            "import_batch_id": self.batch.pk,
        }
        # Positional values, in the model's own field order: a third of what keywords cost.
        # (Some django-stubs releases refuse positional fields, others take them.)
        fields = [row[name] for name in customer_attnames()]
        return Customer(*fields)  # type: ignore[misc, unused-ignore]

    def _consent(self, values: dict[str, Any]) -> dict[str, Any]:
        """A row's consent to marketing: its day, and how (the file, when no column says)."""
        day = values.get("marketing_consent_on")
        if not day:
            return {"marketing_consent_on": None, "marketing_consent_source": ""}
        source = values.get("marketing_consent_source") or _("Import of %(file)s") % {
            "file": self.batch.file_name
        }
        return {"marketing_consent_on": day, "marketing_consent_source": str(source)[:200]}

    # --- Updates --------------------------------------------------------------------------

    def _update(self, updates: dict[int, Candidate]) -> tuple[int, int]:
        """Write the rows' values into the existing customers, locked in primary-key order:
        their empty fields only, or every mapped field; an empty cell never erases. One
        audit row per customer, with its fields before and after, names the batch. Returns
        how many changed, and how many had nothing to change."""
        fill_only = self.batch.on_duplicate == OnDuplicate.EMPTY
        changed: list[Customer] = []
        entries: list[AuditEntry] = []
        now = timezone.now()
        locked = Customer.objects.select_for_update().filter(pk__in=updates).order_by("pk")
        for customer in locked:
            row = updates[customer.pk].row
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            given = {**row.values, **self._consent(row.values)}
            if given["marketing_consent_on"] in (None, customer.marketing_consent_on):
                given["marketing_consent_source"] = None  # how it was given goes with the day
            for key in STANDARD_VALUES:
                value = given.get(key)
                current = getattr(customer, key)
                if is_empty(value) or value == current or (fill_only and not is_empty(current)):
                    continue
                before[key], after[key] = current, value
                setattr(customer, key, value)
            fields_before: dict[str, Any] = {}
            fields_after: dict[str, Any] = {}
            merged = dict(customer.fields)
            for key, value in row.fields.items():
                current = merged.get(key)
                if is_empty(value) or value == current or (fill_only and not is_empty(current)):
                    continue
                fields_before[key], fields_after[key] = current, value
                merged[key] = value
            if fields_after:
                customer.fields = merged
                before["fields"], after["fields"] = fields_before, fields_after
            if not after:
                self.updated.add(customer.pk)
                continue
            if set(after) & set(PHONES):
                customer_numbers_screen(customer, self.batch.crm.data_owner_id)
            customer.updated_at = now
            changed.append(customer)
            self.updated.add(customer.pk)
            entries.append(
                AuditEntry(
                    **actor_fields(self.actor),
                    at=now,
                    action="customer.import_update",
                    object_type=ImportBatch._meta.label_lower,
                    object_id=str(self.batch.pk),
                    customer_id=customer.pk,
                    before=_jsonable(before),
                    after=_jsonable(after),
                )
            )
        Customer.objects.bulk_update(
            changed,
            [
                "name",
                *PHONES,
                "email",
                *CONSENT,
                "fields",
                "is_blocked",
                "is_reserved",
                "updated_at",
            ],
            batch_size=CHUNK_ROWS,
        )
        AuditEntry.objects.bulk_create(entries, batch_size=CHUNK_ROWS)
        return len(changed), len(updates) - len(changed)


CUSTOMER_COLUMNS = (
    "id",
    "customer_id",
    "name",
    "phone1",
    "phone2",
    "phone3",
    "email",
    "fields",
    "is_blocked",
    "is_reserved",
    *CONSENT,
)


@functools.cache
def customer_attnames() -> tuple[str, ...]:
    return tuple(f.attname for f in Customer._meta.concrete_fields)


def insert_customers(customers: list[Customer]) -> list[Customer]:
    """Write a piece's new customers (every value already checked, all of one CRM, batch and
    time) and give them their primary keys: with ``COPY`` on PostgreSQL, elsewhere with
    ``bulk_create``. Inside the caller's transaction: the unique constraint on the customer
    id still refuses a customer someone else created meanwhile (the piece is then retried)."""
    if not customers:
        return []
    if not copy_is_available():
        return Customer.objects.bulk_create(customers, batch_size=CHUNK_ROWS)
    first = customers[0]
    for pk, customer in zip(next_ids(Customer, len(customers)), customers, strict=True):
        customer.pk = pk
    copy_insert(
        Customer,
        CUSTOMER_COLUMNS,
        (
            (
                c.pk,
                c.customer_id,
                c.name,
                c.phone1,
                c.phone2,
                c.phone3,
                c.email,
                Jsonb(c.fields),
                c.is_blocked,
                c.is_reserved,
                c.marketing_consent_on,
                c.marketing_consent_source,
            )
            for c in customers
        ),
        same={
            "crm_id": first.crm_id,
            "created_at": first.created_at,
            "updated_at": first.updated_at,
            "source": first.source,
            "import_batch_id": first.import_batch_id,
            "anonymised_at": None,
            "contact_basis": "",
            "contact_basis_on": None,
            "contact_basis_source": "",
            "objected_at": None,
        },
    )
    for customer in customers:
        customer._state.adding = False
        customer._state.db = connection.alias
    return customers


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return result
