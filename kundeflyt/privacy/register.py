"""The Reservasjonsregisteret (markedsføringsloven § 12, DESIGN.md rule 11): loading the
register's list of reserved numbers, screening every customer against it, the recorded
exceptions, and the month it stays good for.

An administrator uploads the register's delivery as a file: either one number per line, or
the register's own delimited text, whose first field on each line is the number (a header
line and other fields are skipped). Each load replaces the whole list, as every delivery
holds the whole register. The design leaves room to fetch it from the register's service:
``register_load`` takes the numbers, wherever they come from.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import Actor, check_may_see_customer
from kundeflyt.campaigns.calling_hours import follows_consumer_rules
from kundeflyt.campaigns.models import Campaign
from kundeflyt.common.actors import Process, actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.errors import DomainError
from kundeflyt.common.phones import phone_search_variants
from kundeflyt.crm.models import ContactBasis, Customer
from kundeflyt.privacy.models import RegisterLoad, ReservedNumber

# The register must have been loaded within this long (markedsføringsloven § 12 and the
# register's terms: lists are updated "no later than a month before use").
GOOD_FOR = dt.timedelta(days=31)
REGISTER_MAX_MB = 200
REGISTER_MAX_BYTES = REGISTER_MAX_MB * 1024 * 1024
_FIELD = re.compile(r"[;,\t|]")


@dataclass(frozen=True)
class RegisterFile:
    numbers: set[str]
    rejected: int


def register_parse(lines: Iterable[bytes]) -> RegisterFile:
    """The numbers of a register file (either layout). Lines whose first field is no phone
    number (a header, a note) are counted as not read."""
    numbers: set[str] = set()
    rejected = 0
    for raw in lines:
        text = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
        if not text:
            continue
        first = _FIELD.split(text, maxsplit=1)[0].strip().strip('"')
        phone = phone_search_variants(first) if len(first) <= 40 else None
        if phone is None:
            rejected += 1
        else:
            numbers.add(phone)
    return RegisterFile(numbers, rejected)


def reserved_q() -> Q:
    """Customers with a number in the register."""
    in_register = ReservedNumber.objects.filter(
        phone__in=[OuterRef("phone1"), OuterRef("phone2"), OuterRef("phone3")]
    )
    return Q(Exists(in_register))


def _in_register(phones: Iterable[str]) -> QuerySet[ReservedNumber]:
    return ReservedNumber.objects.filter(phone__in=[p for p in phones if p])


def is_reserved(phones: Iterable[str]) -> bool:
    return _in_register(phones).exists()


def reserved_among(phones: Iterable[str]) -> set[str]:
    return set(_in_register(phones).values_list("phone", flat=True))


@transaction.atomic(durable=True)
def register_load(actor: Actor, *, file_name: str, lines: Iterable[bytes]) -> RegisterLoad:
    """Replace the register with the numbers of this file and screen every customer again:
    those with a number in it are reserved, those without are not."""
    require(actor, Perm.ADMINISTRATOR)
    name = _file_name(file_name)
    return register_replace(actor, file_name=name, register=_numbers_of(lines))


def _file_name(uploaded: str) -> str:
    return bounded_text(uploaded, field="file", max_length=255) or "register.txt"


def _numbers_of(lines: Iterable[bytes]) -> RegisterFile:
    """The register file's numbers; a file without any is refused (an empty register would
    let consumer campaigns call everyone)."""
    parsed = register_parse(lines)
    if not parsed.numbers:
        raise DomainError(
            _("The file holds no phone numbers. Upload the register's list of numbers."),
            field="file",
        )
    return parsed


def register_replace(
    actor: Actor, *, file_name: str, register: RegisterFile, load: RegisterLoad | None = None
) -> RegisterLoad:
    """``register_load``'s write, in the caller's transaction (the demo loads its own; the
    background load finishes its waiting ``load``)."""
    ReservedNumber.objects.all().delete()
    ReservedNumber.objects.bulk_create(
        (ReservedNumber(phone=p) for p in sorted(register.numbers)), batch_size=5000
    )
    now = timezone.now()
    Customer.objects.filter(reserved_q(), is_reserved=False).update(
        is_reserved=True, updated_at=now
    )
    Customer.objects.filter(~reserved_q(), is_reserved=True).update(
        is_reserved=False, updated_at=now
    )
    done = {
        "loaded_at": now,
        "status": RegisterLoad.Status.DONE,
        "numbers": len(register.numbers),
        "rejected": register.rejected,
        "reserved_customers": Customer.objects.filter(is_reserved=True).count(),
    }
    if load is None:
        load = RegisterLoad.objects.create(**actor_fields(actor), file_name=file_name, **done)
    else:
        RegisterLoad.objects.filter(pk=load.pk).update(**done)
        load.refresh_from_db()
    audit(actor, "register.load", load, after={"numbers": load.numbers, "file": file_name})
    return load


def register_latest() -> RegisterLoad | None:
    """The latest load that finished: the register consumer campaigns call on."""
    return (
        RegisterLoad.objects.filter(status=RegisterLoad.Status.DONE)
        .order_by("-loaded_at", "-pk")
        .first()
    )


# --- Loading an uploaded file in the background ----------------------------------------------


def register_dir() -> Path:
    """The private directory where an uploaded register file waits for its load."""
    path = Path(settings.DATA_DIR) / "register"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def register_upload(actor: Actor, *, file_name: str, chunks: Iterable[bytes]) -> RegisterLoad:
    """Keep an uploaded register file and load it in the background (a whole national
    register takes minutes to read and screen): the load waits until the worker takes it."""
    require(actor, Perm.ADMINISTRATOR)
    name = _file_name(file_name)
    stored = f"{secrets.token_urlsafe(24)}.txt"
    with (register_dir() / stored).open("wb") as target:
        for chunk in chunks:
            target.write(chunk)
    with transaction.atomic():
        load = RegisterLoad.objects.create(
            **actor_fields(actor),
            file_name=name,
            stored_name=stored,
            status=RegisterLoad.Status.WAITING,
        )
        audit(actor, "register.upload", load, after={"file": name})
        transaction.on_commit(lambda: _enqueue(load.pk))
    return load


def _enqueue(load_id: int) -> None:
    from kundeflyt.privacy.tasks import register_load_task

    register_load_task.enqueue(load_id)


def register_run(*, load_id: int) -> RegisterLoad | None:
    """The background task: read the waiting load's file, replace the register and screen
    every customer; or mark the load failed, saying why, and keep the register as it was. The
    file is deleted either way."""
    claimed = RegisterLoad.objects.filter(pk=load_id, status=RegisterLoad.Status.WAITING).update(
        status=RegisterLoad.Status.RUNNING
    )
    if not claimed:
        return None  # already run, or gone
    load = RegisterLoad.objects.select_related("actor_user").get(pk=load_id)
    actor = load.actor_user or Process(load.actor_process or "register")
    path = register_dir() / load.stored_name
    try:
        with path.open("rb") as source:
            parsed = _numbers_of(source)
        with transaction.atomic():
            load = register_replace(actor, file_name=load.file_name, register=parsed, load=load)
    except (DomainError, OSError) as error:
        message = getattr(error, "message", None) or _("The file could not be read.")
        RegisterLoad.objects.filter(pk=load_id).update(
            status=RegisterLoad.Status.FAILED, error=str(message)[:300]
        )
        load.refresh_from_db()
    finally:
        path.unlink(missing_ok=True)
    return load


def register_stale_since(now: dt.datetime, latest: RegisterLoad | None) -> dt.datetime | None:
    """None while the register is good; otherwise since when it is not (the load's
    expiry, or the epoch when it was never loaded)."""
    if latest is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    expires = latest.loaded_at + GOOD_FOR
    return expires if expires <= now else None


def check_register_fresh(campaign: Campaign, now: dt.datetime) -> None:
    """DESIGN.md rule 11: a campaign the law binds calls only on a register loaded within
    the last month."""
    if not follows_consumer_rules(campaign):
        return
    latest = register_latest()
    if register_stale_since(now, latest) is None:
        return
    if latest is None:
        message = _(
            "The Reservasjonsregisteret has never been loaded, so consumers cannot be called. "
            "An administrator loads it under Privacy."
        )
    else:
        message = _(
            "The Reservasjonsregisteret was last loaded %(date)s, more than a month ago, so "
            "consumers cannot be called. An administrator loads it again under Privacy."
        ) % {"date": timezone.localtime(latest.loaded_at).strftime("%d.%m.%Y")}
    raise DomainError(message, field="campaign", code="register")


def callable_despite_register(campaign: Campaign) -> Q:
    """The placements a campaign may present (rule 11): any, unless the law binds it; then
    those whose customer is not reserved, or has a recorded contact basis."""
    if not follows_consumer_rules(campaign):
        return Q()
    return Q(customer__is_reserved=False) | ~Q(customer__contact_basis="")


def check_not_reserved(campaign: Campaign, customer: Customer) -> None:
    if follows_consumer_rules(campaign) and customer.is_reserved and not customer.contact_basis:
        raise DomainError(
            _(
                "The customer's number is in the Reservasjonsregisteret, and no existing "
                "customer relationship or request to be called is recorded."
            ),
            field="customer",
            code="reserved",
        )


def past_day(on: Any, *, field: str) -> dt.date:
    """A day that has been: given as a date or as ISO text, not after today nor before 1900."""
    try:
        day = on if isinstance(on, dt.date) else dt.date.fromisoformat(str(on or "")[:10])
    except ValueError:
        raise DomainError(_("Give the date it began."), field=field) from None
    if not (dt.date(1900, 1, 1) <= day <= timezone.localdate()):
        raise DomainError(_("The date must be in the past, and not before 1900."), field=field)
    return day


@transaction.atomic(durable=True)
def contact_basis_set(
    actor: Actor, *, customer_id: int, basis: str, on: Any = None, source: Any = ""
) -> Customer:
    """Record (or, with an empty ``basis``, remove) why a reserved customer may still be
    called: an existing customer relationship or the person's own request, with its date and
    source (markedsføringsloven § 12)."""
    require(actor, Perm.CUSTOMER_HANDLING)
    check_may_see_customer(actor, customer_id)
    if basis not in ("", *ContactBasis.values):
        raise DomainError(_("Choose a reason the customer may be called."), field="contact_basis")
    day = past_day(on, field="contact_basis_on") if basis else None
    text = bounded_text(source, field="contact_basis_source", max_length=200) if basis else ""
    if basis and not text:
        raise DomainError(
            _("Say where it comes from, e.g. the contract or the call."),
            field="contact_basis_source",
        )
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    after = {"contact_basis": basis, "contact_basis_on": day, "contact_basis_source": text}
    return customer_facts_write(actor, customer, after, "customer.contact_basis")


def customer_facts_write(
    actor: Actor, customer: Customer, after: dict[str, Any], action: str
) -> Customer:
    """Write ``after`` into the locked customer's columns, with an audit row of them before
    and after; nothing when nothing changes."""
    before = {key: getattr(customer, key) for key in after}
    if before == after:
        return customer
    Customer.objects.filter(pk=customer.pk).update(**after, updated_at=timezone.now())
    audit(actor, action, customer, before=before, after=after, customer_id=customer.pk)
    customer.refresh_from_db()
    return customer
