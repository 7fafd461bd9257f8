"""The demo data that ``make run`` starts with: the data owner Nordlys Energi AS, a B2B and a
B2C CRM, two campaigns on the standard telemarketing flow, teams, demo logins, about two
thousand Norwegian customers and three months of worked history.

The demo writes customers, placements, events, product lines, meetings and their audit rows
directly with ``bulk_create``. That is on purpose: its history is backdated over the last 90
days, while the services stamp every row with the current time, and creating the customers one
by one through ``customer_create`` took about 6 s per 1,200 customers. This module is the only
place in Kundeflyt that writes those rows outside the services. It still holds to their rules:
field values go through ``clean_field_value`` and ``normalise_phone``, every event registers an
outcome the flow offers from the customer's state at that time, and each placement ends exactly
where its last event left it (state, since when, attempts, follow-up, final, waiting since).

The B2C campaign follows the marketing law's calling hours like any consumer campaign
(DESIGN.md rule 11): run at night or at a weekend, the demo's agents work the B2B campaign,
which the law does not bind, and My work says when the consumer campaign opens.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import os
import random
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.utils import timezone
from faker import Faker

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.calling_hours import retry_time
from kundeflyt.campaigns.models import (
    Campaign,
    CampaignLink,
    ExtraField,
    OutcomeOption,
    PresentationMode,
    Product,
    Segment,
)
from kundeflyt.common.actors import DEMO, actor_fields
from kundeflyt.common.audit import audit
from kundeflyt.common.errors import DomainError
from kundeflyt.common.fields import ORG_NUMBER_WEIGHTS, FieldType, clean_field_value
from kundeflyt.common.models import AuditEntry
from kundeflyt.common.phones import normalise_phone
from kundeflyt.crm.models import CRM, ContactBasis, Customer, DataOwner, FieldDefinition
from kundeflyt.crm.services import customer_snapshot
from kundeflyt.flows.models import Flow, FollowUpRule, Outcome, ProductRule, State
from kundeflyt.flows.services import standard_flow
from kundeflyt.handling.models import Event, Meeting, Placement, ProductLine
from kundeflyt.handling.transitions import after_outcome
from kundeflyt.privacy.register import RegisterFile, register_replace
from kundeflyt.reports.rollup import rollup_rebuild
from kundeflyt.telephony.models import Purpose, SmsTemplate

DATA_OWNER_NAME = "Nordlys Energi AS"
PASSWORD = "demo1234"  # The demo logins are printed on every run; never use them in production.
SITE_URL = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/"
HISTORY_DAYS = 90

OSLO = ZoneInfo(settings.TIME_ZONE)
WORK_START = dt.time(8, 0)
WORK_END = dt.time(16, 0)
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 17), (12, 25), (12, 26)}

AGENT_PERMS = [Perm.CUSTOMER_HANDLING, Perm.SMS]
SUPERVISOR_PERMS = [
    Perm.CUSTOMER_HANDLING,
    Perm.SMS,
    Perm.EXTENDED_CUSTOMER_HANDLING,
    Perm.CORRECT_REGISTRATIONS,
    Perm.REPORTING,
    Perm.INDIVIDUAL_RESULTS,
    Perm.REVENUE,
]
ROLES: dict[str, list[Perm]] = {
    "Agent": AGENT_PERMS,
    "Supervisor": SUPERVISOR_PERMS,
    "Administrator": list(Perm),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    team: str | None
    role: str


DEMO_USERS = [
    DemoUser("admin", "Astrid", "Solberg", None, "Administrator"),
    DemoUser("leder", "Henrik", "Lund", "Team Nord", "Supervisor"),
    DemoUser("agent1", "Ingrid", "Bakken", "Team Nord", "Agent"),
    DemoUser("agent2", "Jonas", "Haugen", "Team Sør", "Agent"),
    DemoUser("agent3", "Sara", "Nilsen", "Team Nord", "Agent"),
]
TEAMS = ["Team Nord", "Team Sør"]
# How much of the registered work each agent does: individual results should differ.
AGENT_SHARE = {"agent1": 40, "agent2": 35, "agent3": 25}

INDUSTRIES: dict[str, list[str]] = {
    "Bygg og anlegg": ["Bygg", "Entreprenør", "Tømrer", "Rør", "Elektro", "Maskin"],
    "Handel": ["Handel", "Engros", "Interiør", "Sport", "Dagligvare", "Blomster"],
    "IT": ["IT", "Data", "Digital", "Software", "Nettverk"],
    "Helse": ["Tannklinikk", "Fysioterapi", "Legesenter", "Helse", "Optikk"],
    "Transport": ["Transport", "Logistikk", "Budservice", "Taxi", "Frakt"],
    "Industri": ["Mekaniske", "Industri", "Plast", "Stål", "Trevare"],
}
PLACE_WORDS = [
    "Nordvik",
    "Fjordkyst",
    "Vestby",
    "Solberg",
    "Bjørkeli",
    "Granheim",
    "Fjellheim",
    "Havbris",
    "Sjøstrand",
    "Lierbakken",
    "Elvebakken",
    "Furulund",
]
# (postcode, place, weight); the postcodes that start with 0 are why it is a digits field.
PLACES = [
    ("0150", "Oslo", 12),
    ("0368", "Oslo", 8),
    ("0575", "Oslo", 8),
    ("0871", "Oslo", 6),
    ("1337", "Sandvika", 4),
    ("1470", "Lørenskog", 3),
    ("1607", "Fredrikstad", 4),
    ("1710", "Sarpsborg", 3),
    ("2000", "Lillestrøm", 3),
    ("2317", "Hamar", 3),
    ("2815", "Gjøvik", 2),
    ("3015", "Drammen", 4),
    ("3110", "Tønsberg", 3),
    ("3717", "Skien", 3),
    ("4010", "Stavanger", 6),
    ("4306", "Sandnes", 3),
    ("4612", "Kristiansand", 4),
    ("5003", "Bergen", 10),
    ("5527", "Haugesund", 2),
    ("6002", "Ålesund", 3),
    ("6413", "Molde", 2),
    ("7010", "Trondheim", 7),
    ("7500", "Stjørdal", 2),
    ("8006", "Bodø", 3),
    ("9008", "Tromsø", 3),
    ("9600", "Hammerfest", 1),
]
MAIL_DOMAINS = ["gmail.com", "online.no", "hotmail.com", "outlook.com", "icloud.com"]

# How likely each outcome is from each state of the standard flow (keys of the flow file);
# an outcome a changed flow adds gets weight 5.
OUTCOME_WEIGHTS: dict[str, dict[str, int]] = {
    "available": {
        "no_answer": 34,
        "call_back": 16,
        "meeting_booked": 8,
        "offer_sent": 12,
        "sold": 6,
        "not_interested": 18,
        "wrong_number": 6,
    },
    "meeting_booked": {
        "offer_sent": 35,
        "sold": 20,
        "not_interested": 15,
        "no_answer": 15,
        "call_back": 15,
    },
    "offer_sent": {"sold": 30, "not_interested": 25, "no_answer": 25, "call_back": 20},
}
COMMENTS: dict[str, list[str]] = {
    "no_answer": ["Gikk rett til talepost.", "Opptatt.", "Ingen svar, prøver igjen senere."],
    "call_back": [
        "Ba om å bli ringt etter lunsj.",
        "Sitter i møte, ring tilbake.",
        "Vil snakke med partneren sin først.",
        "Ring tilbake neste uke.",
    ],
    "meeting_booked": [
        "Interessert i fastpris, vil ha en gjennomgang.",
        "Møte med daglig leder.",
        "Vil sammenligne med dagens avtale.",
    ],
    "offer_sent": [
        "Tilbud sendt på e-post.",
        "Sendt tilbud på fastpris 12 mnd.",
        "Vil se på tilbudet sammen med regnskapsfører.",
    ],
    "sold": [
        "Signert på e-post.",
        "Bekreftet muntlig, ordrebekreftelse sendt.",
        "Bytter fra annen leverandør fra neste måned.",
    ],
    "not_interested": [
        "Fornøyd med dagens leverandør.",
        "Bundet av avtale ut året.",
        "Vil ikke ha flere oppringninger.",
    ],
    "wrong_number": ["Nummeret tilhører en annen person.", "Nummeret er ikke i bruk."],
}

# Where a customer's last follow-up lands, in turn: My work shows some due and overdue
# personal follow-ups for every agent, some later today, some in the coming days, and shared.
LAST_FOLLOW_UPS = [
    ("coming", True),
    ("due_today", True),
    ("overdue", True),
    ("coming", False),
    ("coming", True),
    ("later_today", True),
    ("overdue", False),
    ("coming", True),
    ("due_today", False),
    ("overdue", True),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


@dataclass
class DemoSummary:
    created: bool
    customers: int = 0
    events: int = 0
    product_lines: int = 0
    meetings: int = 0
    personal_follow_ups_due: int = 0
    logins: list[DemoLogin] = field(default_factory=list)


def demo_logins() -> list[DemoLogin]:
    return [DemoLogin(u.username, PASSWORD, u.role) for u in DEMO_USERS]


def demo_exists() -> bool:
    return DataOwner.objects.filter(name=DATA_OWNER_NAME).exists()


def demo_build(
    *, customers: int = 2000, seed: int = 1, now: dt.datetime | None = None
) -> DemoSummary:
    """Create the demo once; when its data owner is already there, change nothing."""
    with transaction.atomic(durable=True):
        if demo_exists():
            return DemoSummary(created=False, logins=demo_logins())
        return _Builder(seed=seed, now=now or timezone.now()).build(customers)


# --- Small helpers ---------------------------------------------------------------------------


def with_check_digit(first_eight: str) -> str | None:
    """The organisation number that starts with these eight digits, if there is one."""
    total = sum(int(d) * w for d, w in zip(first_eight, ORG_NUMBER_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return None
    return first_eight + str(0 if check == 11 else check)


def ascii_slug(text: str, sep: str = "-") -> str:
    """``Bjørkeli Rør AS`` → ``bjorkeli-ror-as``: for made-up e-mail and web addresses."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", sep, text).strip(sep)


@dataclass
class _FlowMap:
    flow: Flow
    entry: State
    offered: dict[int, list[Outcome]]


@dataclass
class _Kit:
    """A campaign with what registering in it needs."""

    campaign: Campaign
    segments: list[Segment]
    segment_weights: list[int]
    options: dict[int, list[OutcomeOption]]
    extra_fields: dict[int, list[ExtraField]]
    products: list[Product]
    quantities: list[int]
    weight_factor: dict[str, float]


@dataclass
class _Step:
    outcome: Outcome
    at: dt.datetime | None = None
    actor: User | None = None
    follow_up_at: dt.datetime | None = None
    personal: bool = False


class _Builder:
    def __init__(self, *, seed: int, now: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("no_NO")
        self.fake.seed_instance(seed)
        self.now = now
        self.latest = now - dt.timedelta(minutes=5)  # history ends a little before now
        self.today = now.astimezone(OSLO).date()
        self.setup_at = now - dt.timedelta(days=HISTORY_DAYS + 7)
        self.imported_at = now - dt.timedelta(days=HISTORY_DAYS + 5)
        self.history_from = now - dt.timedelta(days=HISTORY_DAYS)
        first = (now - dt.timedelta(days=HISTORY_DAYS + 10)).astimezone(OSLO).date()
        self.days = [
            day
            for day in (first + dt.timedelta(days=n) for n in range(HISTORY_DAYS + 40))
            if day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS
        ]
        self.past_days = [d for d in self.days if d < self.today]
        self.future_days = [d for d in self.days if d > self.today]
        self.last_follow_ups: Iterator[tuple[str, bool]] = itertools.cycle(LAST_FOLLOW_UPS)
        self.phones: set[str] = set()
        self.org_numbers: set[str] = set()
        self.agents: list[User] = []
        self.summary = DemoSummary(created=True, logins=demo_logins())

    # --- Setup --------------------------------------------------------------------------------

    def build(self, customers: int) -> DemoSummary:
        users = self._users()
        self.agents = [users[name] for name in AGENT_SHARE]
        owner = DataOwner.objects.create(
            name=DATA_OWNER_NAME,
            org_number=with_check_digit("91578432") or "",
            controller=DATA_OWNER_NAME,
            purpose=(
                "Markedsføring og salg av strømavtaler og energitjenester til bedrifter og "
                "privatpersoner, og oppfølging av tilbud og avtaler. Behandlingsgrunnlaget er "
                "berettiget interesse (personvernforordningen artikkel 6 nr. 1 bokstav f). "
                "Kunden kan når som helst be om å ikke bli kontaktet igjen."
            ),
        )
        owner.teams.set(Team.objects.filter(name__in=TEAMS))
        owner.users.add(users["leder"])
        self._audit_setup(owner, {"name": owner.name})
        b2b = self._crm(owner, CRM.Kind.B2B, "Bedriftskunder", B2B_FIELDS)
        b2c = self._crm(owner, CRM.Kind.B2C, "Privatkunder", B2C_FIELDS)
        flow_map = self._flow_map(standard_flow(DEMO))
        business = self._business_campaign(b2b, flow_map.flow)
        private = self._private_campaign(b2c, flow_map.flow)

        b2b_count = round(customers * 0.6)
        self._customers(b2b, business, flow_map, b2b_count, self._business_customer)
        self._customers(b2c, private, flow_map, customers - b2b_count, self._private_customer)
        self._register(b2c)
        rollup_rebuild()  # the events above were written with bulk_create, outside the rollup
        self.summary.personal_follow_ups_due = Placement.objects.filter(
            campaign__crm__data_owner=owner,
            follow_up_user__isnull=False,
            follow_up_at__lte=self.now,
        ).count()
        return self.summary

    def _register(self, crm: CRM) -> None:
        """The Reservasjonsregisteret, loaded today with one in twenty of the consumers'
        numbers, so that the consumer campaign may call (rule 11); one reserved customer is
        an existing customer, and may still be called."""
        phones = sorted(
            Customer.objects.filter(crm=crm).exclude(phone1="").values_list("phone1", flat=True)
        )
        reserved = set(self.rng.sample(phones, max(1, len(phones) // 20))) if phones else set()
        register_replace(
            DEMO, file_name="reservasjonsregisteret.txt", register=RegisterFile(reserved, 0)
        )
        first = Customer.objects.filter(crm=crm, is_reserved=True).order_by("pk").first()
        if first is not None:
            Customer.objects.filter(pk=first.pk).update(
                contact_basis=ContactBasis.CUSTOMER,
                contact_basis_on=(self.now - dt.timedelta(days=400)).date(),
                contact_basis_source="Strømavtale 2025-0117",
            )

    def _audit_setup(self, obj: models.Model, after: dict[str, Any]) -> None:
        audit(DEMO, "demo.create", obj, after=after, at=self.setup_at)

    def _users(self) -> dict[str, User]:
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in TEAMS}
        groups = {}
        for role, perms in ROLES.items():
            group = Group.objects.get_or_create(name=role)[0]
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="accounts", codename__in=[p.value for p in perms]
                )
            )
            groups[role] = group
        users: dict[str, User] = {}
        for spec in DEMO_USERS:
            # An existing user of the same name is used as it is: its password stays.
            user = User.objects.filter(username=spec.username).first()
            if user is None:
                user = User(
                    username=spec.username,
                    first_name=spec.first_name,
                    last_name=spec.last_name,
                    email=f"{ascii_slug(spec.first_name)}.{ascii_slug(spec.last_name)}"
                    "@nordlysenergi.example",
                    team=teams[spec.team] if spec.team else None,
                    # A phone for click-to-call; the demo's console provider dials nothing.
                    phone=f"+479000000{DEMO_USERS.index(spec)}",
                    language="nb",
                    is_staff=spec.role == "Administrator",
                    is_superuser=spec.role == "Administrator",
                    date_joined=self.setup_at,
                )
                user.set_password(PASSWORD)
                user.save()
                audit(
                    DEMO,
                    "user.create",
                    user,
                    after={"username": user.username, "role": spec.role},
                    at=self.setup_at,
                )
            user.groups.add(groups[spec.role])
            users[spec.username] = user
        return users

    def _crm(self, owner: DataOwner, kind: str, name: str, fields: Sequence[dict[str, Any]]) -> CRM:
        crm = CRM.objects.create(data_owner=owner, kind=kind, name=name)
        FieldDefinition.objects.bulk_create(
            FieldDefinition(crm=crm, position=position, **spec)
            for position, spec in enumerate(fields)
        )
        self._audit_setup(crm, {"name": name, "kind": kind, "fields": [f["key"] for f in fields]})
        return crm

    @staticmethod
    def _flow_map(flow: Flow) -> _FlowMap:
        offered: dict[int, list[Outcome]] = {}
        for outcome in flow.outcomes.select_related("to_state").prefetch_related("from_states"):
            for state in outcome.from_states.all():
                offered.setdefault(state.pk, []).append(outcome)
        return _FlowMap(flow=flow, entry=flow.entry_state(), offered=offered)

    def _campaign(
        self,
        crm: CRM,
        flow: Flow,
        *,
        segments: Sequence[tuple[str, int]],
        links: Sequence[tuple[str, str]],
        products: Sequence[tuple[str, str, str, str]],
        quantities: list[int],
        weight_factor: dict[str, float],
        **values: Any,
    ) -> _Kit:
        campaign = Campaign.objects.create(crm=crm, flow=flow, **values)
        made = Segment.objects.bulk_create(
            Segment(campaign=campaign, name=name, priority=n + 1)
            for n, (name, _weight) in enumerate(segments)
        )
        CampaignLink.objects.bulk_create(
            CampaignLink(campaign=campaign, title=title, url=url, position=n)
            for n, (title, url) in enumerate(links)
        )
        catalogue = Product.objects.bulk_create(
            Product(campaign=campaign, name=name, code=code, price=Decimal(price), description=text)
            for name, code, price, text in products
        )
        self._audit_setup(campaign, {"name": campaign.name, "crm": crm.pk, "flow": flow.pk})
        return _Kit(
            campaign=campaign,
            segments=made,
            segment_weights=[weight for _name, weight in segments],
            options={},
            extra_fields={},
            products=catalogue,
            quantities=quantities,
            weight_factor=weight_factor,
        )

    def _business_campaign(self, crm: CRM, flow: Flow) -> _Kit:
        kit = self._campaign(
            crm,
            flow,
            name="Strøm til bedrifter",
            presentation_mode=PresentationMode.MANUAL,
            information=(
                "Nordlys Energi tilbyr strømavtaler til bedrifter i hele landet. Spør etter den "
                "som har ansvaret for strømavtalen, og finn ut hvilken avtale bedriften har i dag "
                "og når den løper ut.\n\n"
                "Spotpris Bedrift har ingen månedsavgift. Fastpris gir forutsigbare kostnader i "
                "12 eller 36 måneder. Bedrifter med mer enn 50 ansatte tilbys et møte med en av "
                "våre energirådgivere."
            ),
            calls_enabled=True,
            caller_number="+4721000000",
            sms_enabled=False,
            visible_from=self.setup_at.astimezone(OSLO).date(),
            segments=[("Oslo og Viken", 40), ("Vestlandet", 30), ("Resten av landet", 30)],
            links=[
                ("Prisliste bedrift", "https://nordlysenergi.example/bedrift/priser"),
                ("Enhetsregisteret (Brønnøysundregistrene)", "https://www.brreg.no/"),
            ],
            products=[
                ("Spotpris Bedrift", "SPOT-B", "0.00", "Spotpris + 4,9 øre/kWh, 0 kr/mnd."),
                ("Fastpris 12 mnd", "FAST-12", "149.00", "Fast kWh-pris i 12 måneder, kr/mnd."),
                ("Fastpris 36 mnd", "FAST-36", "99.00", "Fast kWh-pris i 36 måneder, kr/mnd."),
                ("Innkjøpspris Pluss", "INNKJOP", "49.00", "Innkjøpspris + påslag, kr/mnd."),
                ("Energirådgivning", "RAAD", "4900.00", "Kartlegging av forbruk, engangspris."),
            ],
            quantities=[1, 1, 1, 1, 2, 2, 3, 5],
            weight_factor={},
        )
        not_interested = Outcome.objects.get(flow=flow, key="not_interested")
        kit.options[not_interested.pk] = OutcomeOption.objects.bulk_create(
            OutcomeOption(campaign=kit.campaign, outcome=not_interested, label=label, position=n)
            for n, label in enumerate(
                ["Har avtale", "For dyrt", "Ikke beslutningstaker", "Ønsker ikke å bli ringt"]
            )
        )
        meeting = Outcome.objects.get(flow=flow, key="meeting_booked")
        kit.extra_fields[meeting.pk] = [
            ExtraField.objects.create(
                campaign=kit.campaign,
                applies_to=ExtraField.AppliesTo.OUTCOME,
                outcome=meeting,
                key="meeting_form",
                label="Møteform",
                type=FieldType.CHOICE,
                required=True,
                choices=["Fysisk møte", "Teams", "Telefon"],
            )
        ]
        return kit

    def _private_campaign(self, crm: CRM, flow: Flow) -> _Kit:
        kit = self._campaign(
            crm,
            flow,
            name="Vinterkampanje privat",
            presentation_mode=PresentationMode.PREDICTIVE,
            information=(
                "Vinterkampanje for privatkunder: tre måneder uten månedsavgift på Spotpris for "
                "nye kunder. Fortell om angreretten på 14 dager, og send avtalen på SMS eller "
                "e-post når kunden sier ja."
            ),
            visible_to_all=False,
            max_attempts=5,
            min_minutes_between_attempts=60,
            calls_enabled=True,
            caller_number="+4721000000",
            sms_enabled=True,
            sms_sender="NordlysEn",
            visible_from=self.setup_at.astimezone(OSLO).date(),
            segments=[
                ("Østlandet", 55),
                ("Sør- og Vestlandet", 30),
                ("Midt- og Nord-Norge", 15),
            ],
            links=[
                ("Prisliste privat", "https://nordlysenergi.example/privat/priser"),
                ("Angrerettloven (Lovdata)", "https://lovdata.no/dokument/NL/lov/2014-06-20-27"),
            ],
            products=[
                ("Spotpris", "SPOT", "39.00", "Spotpris + 2,9 øre/kWh, kr/mnd."),
                ("Fastpris vinter", "FAST-V", "59.00", "Fast kWh-pris ut mars, kr/mnd."),
                ("Strømforsikring", "FORS", "49.00", "Dekker strømregningen ved sykdom, kr/mnd."),
                (
                    "Smartstyring",
                    "SMART",
                    "1990.00",
                    "Styring av varmtvann og lading, engangspris.",
                ),
            ],
            quantities=[1],
            weight_factor={"meeting_booked": 0.2},
        )
        kit.campaign.teams.set(Team.objects.filter(name__in=TEAMS))
        SmsTemplate.objects.bulk_create(
            [
                SmsTemplate(
                    campaign=kit.campaign,
                    name="Avtalen",
                    purpose=Purpose.SERVICE,
                    position=1,
                    text=(
                        "Hei {navn}! Takk for praten. Her er avtalen: "
                        "https://nordlysenergi.example/avtale – du har 14 dagers angrerett. "
                        "Hilsen {selger}, Nordlys Energi"
                    ),
                ),
                SmsTemplate(
                    campaign=kit.campaign,
                    name="Vintertilbud",
                    purpose=Purpose.MARKETING,
                    position=2,
                    text=(
                        "Hei {navn}! Tre måneder uten månedsavgift på Spotpris. Svar JA, så "
                        "ringer vi deg. Svar STOPP for å melde deg av. Nordlys Energi"
                    ),
                ),
            ]
        )
        return kit

    # --- Customers ----------------------------------------------------------------------------

    def _mobile(self) -> str:
        while True:
            raw = self.rng.choice("49") + f"{self.rng.randrange(10**7):07d}"
            try:
                phone = normalise_phone(raw)
            except DomainError:
                continue  # not every 4xx series is a mobile range
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def _org_number(self) -> str:
        while True:
            number = with_check_digit(self.rng.choice("89") + f"{self.rng.randrange(10**7):07d}")
            if number and number not in self.org_numbers:
                self.org_numbers.add(number)
                return number

    def _random_date(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange((end - start).days))

    def _business_customer(self, n: int, kit: _Kit) -> tuple[dict[str, Any], Segment | None]:
        rng, fake = self.rng, self.fake
        industry = rng.choice(list(INDUSTRIES))
        base = rng.choice([fake.last_name(), rng.choice(PLACE_WORDS)])
        word = rng.choice(INDUSTRIES[industry])
        suffix = rng.choices(["AS", "ANS", "DA", "Holding AS"], weights=[80, 8, 6, 6])[0]
        name = f"{base} {word} {suffix}"
        domain = f"{ascii_slug(f'{base} {word}')}.no"
        first, last = fake.first_name(), fake.last_name()
        email = rng.choices(
            [f"post@{domain}", f"{ascii_slug(first, '.')}.{ascii_slug(last, '.')}@{domain}", ""],
            weights=[45, 45, 10],
        )[0]
        fields = {
            "org_number": self._org_number(),
            "contact_person": f"{first} {last}",
            "industry": industry,
            "employees": min(2000, int(rng.lognormvariate(2.2, 1.2)) + 1),
            "website": f"https://www.{domain}" if rng.random() < 0.75 else None,
            "founded": self._random_date(dt.date(1950, 1, 1), dt.date(2024, 1, 1)),
        }
        customer = {
            "customer_id": f"B{100000 + n}",
            "name": name,
            "phone1": self._mobile(),
            "phone2": self._mobile() if rng.random() < 0.15 else "",
            "email": email,
            "fields": fields,
        }
        return customer, self._segment(kit, None)

    def _private_customer(self, n: int, kit: _Kit) -> tuple[dict[str, Any], Segment | None]:
        rng, fake = self.rng, self.fake
        first, last = fake.first_name(), fake.last_name()
        postcode, city, _weight = rng.choices(PLACES, weights=[p[2] for p in PLACES])[0]
        email = ""
        if rng.random() < 0.7:
            number = str(rng.randint(1, 99)) if rng.random() < 0.3 else ""
            email = f"{ascii_slug(first, '.')}.{ascii_slug(last, '.')}{number}@" + rng.choice(
                MAIL_DOMAINS
            )
        fields = {
            "birth_date": self._random_date(
                self.today - dt.timedelta(days=85 * 365), self.today - dt.timedelta(days=18 * 365)
            ),
            "address": fake.street_address(),
            "postcode": postcode,
            "city": city,
            "newsletter": rng.random() < 0.3,
        }
        customer: dict[str, Any] = {
            "customer_id": f"P{200000 + n}",
            "name": f"{first} {last}",
            "phone1": self._mobile(),
            "phone2": "",
            "email": email,
            "fields": fields,
        }
        if fields["newsletter"]:  # signed up on the web site: consented to marketing (§ 15)
            customer["marketing_consent_on"] = (self.imported_at - dt.timedelta(days=90)).date()
            customer["marketing_consent_source"] = "Nyhetsbrev, nordlysenergi.example"
        region = 0 if postcode[0] in "0123" else 1 if postcode[0] in "456" else 2
        return customer, self._segment(kit, region)

    def _segment(self, kit: _Kit, index: int | None) -> Segment | None:
        if self.rng.random() < 0.03:
            return None  # a few are unsegmented, as after a move or a plain import
        if index is None:
            return self.rng.choices(kit.segments, weights=kit.segment_weights)[0]
        return kit.segments[index]

    def _customers(
        self,
        crm: CRM,
        kit: _Kit,
        flow_map: _FlowMap,
        count: int,
        make: Callable[[int, _Kit], tuple[dict[str, Any], Segment | None]],
    ) -> None:
        definitions = list(crm.fields.all())
        rows: list[Customer] = []
        segments: list[Segment | None] = []
        for n in range(1, count + 1):
            data, segment = make(n, kit)
            data["fields"] = {
                d.key: clean_field_value(
                    d.type,
                    data["fields"].get(d.key),
                    field=d.key,
                    label=d.label,
                    required=d.required,
                    choices=d.choices,
                )
                for d in definitions
            }
            data["email"] = clean_field_value(FieldType.EMAIL, data["email"], field="email") or ""
            rows.append(Customer(crm=crm, source=Customer.Source.IMPORT, **data))
            segments.append(segment)
        created = Customer.objects.bulk_create(rows, batch_size=500)
        # created_at is auto_now_add; the import happened before the history began.
        Customer.objects.filter(crm=crm).update(created_at=self.imported_at)
        audits: list[AuditEntry] = []
        placements: list[Placement] = []
        events: list[Event] = []
        lines: list[tuple[int, list[ProductLine]]] = []
        meetings: list[tuple[int, Meeting]] = []
        for customer, segment in zip(created, segments, strict=True):
            customer.created_at = self.imported_at
            steps = self._story(flow_map, kit) if self.rng.random() < 0.6 else []
            placement = self._placement(customer, kit, segment, flow_map)
            state = flow_map.entry
            offered_lines: list[ProductLine] = []
            for step in steps:
                event, state, step_lines, meeting = self._event(
                    customer, kit, placement, state, step, offered_lines
                )
                if step_lines:
                    lines.append((len(events), step_lines))
                    offered_lines = step_lines
                if meeting is not None:
                    meetings.append((len(events), meeting))
                events.append(event)
            placements.append(placement)
            audits += self._creation_audits(customer, placement)
        Placement.objects.bulk_create(placements, batch_size=500)
        AuditEntry.objects.bulk_create(audits, batch_size=500)
        Event.objects.bulk_create(events, batch_size=500)
        for index, step_lines in lines:
            for line in step_lines:
                line.event = events[index]
        for index, meeting in meetings:
            meeting.event = events[index]
        all_lines = [line for _index, step_lines in lines for line in step_lines]
        ProductLine.objects.bulk_create(all_lines, batch_size=500)
        Meeting.objects.bulk_create([m for _index, m in meetings], batch_size=500)
        self.summary.customers += len(created)
        self.summary.events += len(events)
        self.summary.product_lines += len(all_lines)
        self.summary.meetings += len(meetings)

    def _placement(
        self, customer: Customer, kit: _Kit, segment: Segment | None, flow_map: _FlowMap
    ) -> Placement:
        """Where ``placement_create`` puts a new customer: available, at the import time."""
        return Placement(
            customer=customer,
            campaign=kit.campaign,
            segment=segment,
            state=flow_map.entry,
            state_since=self.imported_at,
            waiting_since=self.imported_at,
            **actor_fields(DEMO, prefix="set_by"),
        )

    def _creation_audits(self, customer: Customer, placement: Placement) -> list[AuditEntry]:
        """The audit rows ``customer_create`` writes, at the import time."""
        common = {**actor_fields(DEMO), "at": self.imported_at, "customer": customer}
        return [
            AuditEntry(
                **common,
                action="customer.create",
                object_type=Customer._meta.label_lower,
                object_id=str(customer.pk),
                after=customer_snapshot(customer),
            ),
            AuditEntry(
                **common,
                action="placement.create",
                object_type=Placement._meta.label_lower,
                object_id=str(customer.pk),
                after={
                    "campaign": placement.campaign_id,
                    "segment": placement.segment_id,
                    "state": placement.state_id,
                    "follow_up_at": None,
                    "follow_up_user": None,
                    "holder": None,
                },
            ),
        ]

    # --- History ------------------------------------------------------------------------------

    def _story(self, flow_map: _FlowMap, kit: _Kit) -> list[_Step]:
        """1–5 outcomes, each one offered from the state the one before left the customer in,
        with times on working days in the last 90 days. Empty if they do not fit."""
        rng = self.rng
        wanted = rng.choices([1, 2, 3, 4, 5], weights=[30, 28, 20, 13, 9])[0]
        state = flow_map.entry
        steps: list[_Step] = []
        while len(steps) < wanted and not state.is_final:
            offered = flow_map.offered.get(state.pk, [])
            if not offered:
                break
            weights = OUTCOME_WEIGHTS.get(state.key, {})
            outcome = rng.choices(
                offered,
                weights=[
                    weights.get(o.key, 5) * kit.weight_factor.get(o.key, 1.0) for o in offered
                ],
            )[0]
            steps.append(_Step(outcome))
            if outcome.to_state is not None:
                state = outcome.to_state
        for _try in range(5):
            if self._schedule(steps):
                self._assign_agents(steps)
                return steps
        return []

    def _work_time(self, day: dt.date, latest: dt.datetime | None = None) -> dt.datetime | None:
        start = dt.datetime.combine(day, WORK_START, tzinfo=OSLO)
        end = dt.datetime.combine(day, WORK_END, tzinfo=OSLO)
        if latest is not None:
            end = min(end, latest)
        minutes = int((end - start).total_seconds() // 60)
        if minutes < 1:
            return None
        return start + dt.timedelta(minutes=self.rng.randrange(minutes))

    def _time_before(self, limit: dt.datetime, working_days_back: int) -> dt.datetime | None:
        """A working time before ``limit`` (and before now), some working days earlier."""
        limit = min(limit, self.latest)
        index = bisect.bisect_right(self.days, limit.astimezone(OSLO).date()) - 1
        index -= working_days_back
        while index >= 0:
            moment = self._work_time(self.days[index], latest=limit)
            if moment is not None:
                return moment
            index -= 1
        return None

    def _wants_follow_up(self, outcome: Outcome) -> bool:
        if outcome.follow_up == FollowUpRule.REQUIRED:
            return True
        return outcome.follow_up == FollowUpRule.OPTIONAL and self.rng.random() < 0.75

    def _days_until_next(self, outcome: Outcome) -> int:
        """Working days from registering ``outcome`` to the next contact."""
        rng = self.rng
        minutes = outcome.follow_up_default_minutes
        if outcome.follow_up == FollowUpRule.NONE or minutes is None:
            return rng.choice([0, 1, 1, 2, 3]) if not outcome.is_progressive else rng.randint(1, 4)
        if minutes <= 240:
            return rng.choice([0, 0, 1])
        if minutes <= 1440:
            return rng.choice([0, 1, 1, 2])
        return rng.randint(2, 5)

    def _last_follow_up_at(self, where: str) -> dt.datetime | None:
        """``overdue`` (the last working days), ``due_today`` (earlier today), ``later_today``,
        or ``coming`` (the next working days); today's fall back when the day does not allow."""
        rng = self.rng
        today_is_workday = self.today in self.days
        if where == "due_today":
            moment = None
            if today_is_workday:
                moment = self._work_time(self.today, latest=self.now - dt.timedelta(minutes=1))
            if moment is not None:
                return moment
            where = "overdue"
        if where == "later_today":
            now_local = self.now.astimezone(OSLO)
            start = max(
                now_local + dt.timedelta(minutes=15),
                dt.datetime.combine(self.today, WORK_START, tzinfo=OSLO),
            )
            end = dt.datetime.combine(self.today, WORK_END, tzinfo=OSLO)
            minutes = int((end - start).total_seconds() // 60)
            if today_is_workday and minutes > 0:
                return start + dt.timedelta(minutes=rng.randrange(minutes))
            where = "coming"
        if where == "overdue":
            return self._work_time(self.past_days[-rng.randint(1, 3)])
        return self._work_time(self.future_days[rng.randint(0, 6)])

    def _schedule(self, steps: list[_Step]) -> bool:
        """Times from the last step backwards; intermediate follow-ups fall just before the
        contact they brought about."""
        rng = self.rng
        last = steps[-1]
        last.follow_up_at = None
        if self._wants_follow_up(last.outcome):
            where, last.personal = next(self.last_follow_ups)
            last.follow_up_at = self._last_follow_up_at(where)
            if last.follow_up_at is None:
                return False
            # Some follow-ups were agreed a while ago, so that the last week is not crowded.
            back = self._days_until_next(last.outcome) + rng.choice([0, 0, 1, 2, 4, 6, 8])
            last.at = self._time_before(last.follow_up_at - dt.timedelta(minutes=30), back)
        else:
            last.personal = False
            first = bisect.bisect_left(self.days, self.history_from.astimezone(OSLO).date())
            first += 3 * (len(steps) - 1)
            latest = bisect.bisect_right(self.days, self.today) - 1
            if first > latest:
                return False
            day_end = dt.datetime.combine(self.days[rng.randint(first, latest)], WORK_END, OSLO)
            last.at = self._time_before(day_end, 0)
        if last.at is None:
            return False
        following_at = last.at
        for step in reversed(steps[:-1]):
            gap = self._days_until_next(step.outcome)
            # At least two hours between contacts, more than any campaign's least time
            # between attempts in the demo.
            step.at = self._time_before(following_at - dt.timedelta(hours=2), gap)
            if step.at is None:
                return False
            step.follow_up_at = None
            step.personal = False
            if self._wants_follow_up(step.outcome):
                step.follow_up_at = following_at - dt.timedelta(minutes=rng.randint(0, 20))
                step.personal = rng.random() < 0.65
            following_at = step.at
        return following_at >= self.history_from

    def _assign_agents(self, steps: list[_Step]) -> None:
        """Whoever holds a personal follow-up makes the next contact; otherwise any agent."""
        weights = list(AGENT_SHARE.values())
        responsible: User | None = None
        for step in steps:
            step.actor = responsible or self.rng.choices(self.agents, weights=weights)[0]
            responsible = step.actor if step.follow_up_at and step.personal else None

    def _event(
        self,
        customer: Customer,
        kit: _Kit,
        placement: Placement,
        state: State,
        step: _Step,
        offered_lines: list[ProductLine],
    ) -> tuple[Event, State, list[ProductLine], Meeting | None]:
        """One registered outcome, and the placement moved as ``outcome_register`` moves it."""
        rng, outcome, at, agent = self.rng, step.outcome, step.at, step.actor
        assert at is not None and agent is not None
        to_state = outcome.to_state or state
        options = kit.options.get(outcome.pk, [])
        comments = COMMENTS.get(outcome.key, ["Notert."])
        comment = rng.choice(comments) if outcome.comment_required or rng.random() < 0.35 else ""
        follow_up_user = agent if step.follow_up_at and step.personal else None
        event = Event(
            customer=customer,
            campaign=kit.campaign,
            segment=placement.segment,
            outcome=outcome,
            option=rng.choice(options) if options else None,
            from_state=state,
            to_state=to_state,
            **actor_fields(agent),
            registered_at=at,
            comment=comment,
            extra_values=self._extra_values(kit.extra_fields.get(outcome.pk, [])),
            follow_up_at=step.follow_up_at,
            follow_up_user=follow_up_user,
            counts_for_user=agent,
            counts_at=at,
        )
        lines = self._product_lines(customer, kit, outcome, offered_lines)
        meeting = None
        if outcome.books_meeting:
            meeting = self._meeting(customer, kit, at, agent, event.extra_values)

        changes = after_outcome(
            placement,
            outcome=outcome,
            from_state=state,
            at=at,
            follow_up_at=step.follow_up_at,
            follow_up_user=follow_up_user,
            retry_at=retry_time(kit.campaign, at),
        )
        for name, value in (changes | actor_fields(agent, prefix="set_by")).items():
            setattr(placement, name, value)
        placement.version += 1
        return event, to_state, lines, meeting

    def _extra_values(self, fields: list[ExtraField]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for extra in fields:
            raw = self.rng.choice(extra.choices) if extra.choices else None
            values[extra.key] = clean_field_value(
                extra.type,
                raw,
                field=extra.key,
                label=extra.label,
                required=extra.required,
                choices=extra.choices,
            )
        return values

    def _product_lines(
        self, customer: Customer, kit: _Kit, outcome: Outcome, offered: list[ProductLine]
    ) -> list[ProductLine]:
        if outcome.products == ProductRule.NONE:
            return []
        status = (
            ProductLine.Status.SOLD
            if outcome.products == ProductRule.SOLD
            else ProductLine.Status.OFFERED
        )
        if offered and status == ProductLine.Status.SOLD:
            # A sale after an offer closes what was offered.
            picks = [(line.product, line.quantity) for line in offered]
        else:
            count = self.rng.choices([1, 2], weights=[80, 20])[0]
            picks = [
                (product, self.rng.choice(kit.quantities))
                for product in self.rng.sample(kit.products, count)
            ]
        return [
            ProductLine(
                customer=customer,
                campaign=kit.campaign,
                product=product,
                status=status,
                quantity=quantity,
                unit_price=product.price,
                currency=kit.campaign.currency,
            )
            for product, quantity in picks
        ]

    def _meeting(
        self,
        customer: Customer,
        kit: _Kit,
        booked_at: dt.datetime,
        agent: User,
        extra: dict[str, Any],
    ) -> Meeting:
        index = bisect.bisect_right(self.days, booked_at.astimezone(OSLO).date())
        day = self.days[min(index + self.rng.randint(1, 8), len(self.days) - 1)]
        starts_at = dt.datetime.combine(
            day, dt.time(self.rng.randint(8, 15), self.rng.choice([0, 30])), tzinfo=OSLO
        )
        form = extra.get("meeting_form") or ""
        if form == "Teams":
            place = "Teams"
        elif form == "Telefon":
            place = "Telefon"
        else:
            place = customer.fields.get("address") or f"Hos {customer.name}"
        return Meeting(
            customer=customer,
            campaign=kit.campaign,
            starts_at=starts_at,
            duration_minutes=self.rng.choice([30, 45, 60]),
            place=place,
            with_whom=customer.fields.get("contact_person") or customer.name,
            booked_by=agent,
        )


B2B_FIELDS: list[dict[str, Any]] = [
    {
        "key": "org_number",
        "label": "Organisasjonsnummer",
        "type": FieldType.ORG_NUMBER,
        "unique": True,
        "lookups": ["brreg", "proff"],
    },
    {"key": "contact_person", "label": "Kontaktperson", "type": FieldType.TEXT},
    {
        "key": "industry",
        "label": "Bransje",
        "type": FieldType.CHOICE,
        "choices": list(INDUSTRIES),
    },
    {"key": "employees", "label": "Antall ansatte", "type": FieldType.NUMBER},
    {"key": "website", "label": "Nettside", "type": FieldType.LINK},
    {"key": "founded", "label": "Stiftet", "type": FieldType.DATE},
]
B2C_FIELDS: list[dict[str, Any]] = [
    {"key": "birth_date", "label": "Fødselsdato", "type": FieldType.DATE},
    {"key": "address", "label": "Adresse", "type": FieldType.TEXT, "lookups": ["maps"]},
    {"key": "postcode", "label": "Postnummer", "type": FieldType.DIGITS},
    {"key": "city", "label": "Poststed", "type": FieldType.TEXT},
    {"key": "newsletter", "label": "Ønsker nyhetsbrev", "type": FieldType.CHECKBOX},
]
