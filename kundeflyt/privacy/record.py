"""The record of processing (GDPR Art. 30) of one data owner, read from its setup: who the
controller is, and for each campaign why and on what basis it processes whose data, which
data, for how long, to whom the data goes (webhooks, API tokens, exports) and who has access.

Plain data for the printable page; the number of queries does not grow with the number of
campaigns, fields, users or tokens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm, require
from kundeflyt.accounts.visibility import Actor
from kundeflyt.api.models import ApiToken
from kundeflyt.campaigns.models import Campaign, ExtraField
from kundeflyt.common.errors import NotFound
from kundeflyt.common.fields import FieldType
from kundeflyt.crm.models import CRM, DataOwner
from kundeflyt.privacy.selectors import privacy_owners
from kundeflyt.webhooks.models import EventType, Subscription

# The product's permissions, in the order the user model lists them, with their labels.
PERM_LABELS = dict(User._meta.permissions)


@dataclass
class DataCategory:
    label: str
    type: str


@dataclass
class CampaignRecord:
    name: str
    crm: str
    controller: str
    purpose: str
    legal_basis: str
    legal_basis_default: bool  # no basis stored: the default for the CRM's kind
    data_subjects: str
    personal_data: list[DataCategory]
    # Free text that agents write, in which anything about the person may end up.
    free_text: list[str]
    retention: str
    open_to: str
    period: tuple[dt.date | None, dt.date | None]


@dataclass
class WebhookRecipient:
    host: str
    url: str
    events: list[str]
    description: str


@dataclass
class TokenRecipient:
    name: str
    prefix: str
    user: str
    integration: bool
    expires_at: dt.datetime | None


@dataclass
class PersonWithAccess:
    name: str
    username: str
    permissions: list[str]
    granted_through: str
    integration: bool = False
    superuser: bool = False


@dataclass
class TeamWithAccess:
    name: str
    members: int


@dataclass
class ProcessingRecord:
    generated_at: dt.datetime
    data_owner: str
    controller: str
    org_number: str
    purpose: str
    campaigns: list[CampaignRecord] = field(default_factory=list)
    webhooks: list[WebhookRecipient] = field(default_factory=list)
    tokens: list[TokenRecipient] = field(default_factory=list)
    # Users who may take customers or registrations out of the system as files.
    exporters: list[str] = field(default_factory=list)
    users: list[PersonWithAccess] = field(default_factory=list)
    teams: list[TeamWithAccess] = field(default_factory=list)


def legal_basis(crm: CRM) -> str:
    """The default by the CRM's kind, where neither the campaign nor its data owner states a
    legal basis."""
    if crm.kind == CRM.Kind.B2C:
        return _(
            "Legitimate interest (GDPR Art. 6(1)(f)) within markedsføringsloven §§ 12–14, "
            "respecting the Reservasjonsregisteret."
        )
    return _("Legitimate interest (GDPR Art. 6(1)(f)) for marketing to businesses.")


def data_subjects(crm: CRM) -> str:
    if crm.kind == CRM.Kind.B2C:
        return _("Consumers (private persons)")
    return _("Businesses and their contact persons")


def retention(crm: CRM) -> str:
    months = getattr(crm, "retention_months", None)
    if months is None:
        return _("Until erased on request")
    return ngettext(
        "Erased after %(months)d month without activity",
        "Erased after %(months)d months without activity",
        months,
    ) % {"months": months}


def _personal_data(campaign: Campaign) -> list[DataCategory]:
    standard = [
        DataCategory(_("Customer id"), _("Identifier")),
        DataCategory(_("Name"), str(FieldType.TEXT.label)),
        DataCategory(_("Phone numbers (up to three)"), str(FieldType.PHONE.label)),
        DataCategory(_("E-mail"), str(FieldType.EMAIL.label)),
    ]
    own = [DataCategory(f.label, f.get_type_display()) for f in campaign.crm.fields.all()]
    return standard + own


def _free_text(campaign: Campaign) -> list[str]:
    texts = [_("Comments on registrations")]
    for extra in campaign.extra_fields.all():
        if extra.type == FieldType.TEXT:
            where = _("product line") if extra.applies_to == ExtraField.AppliesTo.PRODUCT else None
            texts.append(f"{extra.label} ({where})" if where else extra.label)
    return texts


def _open_to(campaign: Campaign) -> str:
    if campaign.visible_to_all:
        return _("Everyone with access to the data owner")
    chosen = [str(u) for u in campaign.users.all()] + [str(t) for t in campaign.teams.all()]
    return _("Chosen users and teams: %(names)s") % {"names": ", ".join(chosen) or "–"}


def _permissions(user: User) -> set[str]:
    """The product permissions the user holds, as ``has_perm`` answers: directly, through a
    role, as a superuser; *administrator* opens every permission of the accounts app (the
    ProductPermissionBackend), so it holds them all."""
    if user.is_superuser:
        return set(PERM_LABELS)
    held = {p.codename for p in user.user_permissions.all()}
    for group in user.groups.all():
        held |= {p.codename for p in group.permissions.all()}
    if Perm.ADMINISTRATOR.value in held:
        return set(PERM_LABELS)
    return held & set(PERM_LABELS)


def _may_export(held: set[str]) -> bool:
    """As the exports check: registrations with *reporting*; customers with *customer
    handling* and *extended customer handling* or *reporting*."""
    return (
        Perm.REPORTING.value in held
        or {
            Perm.CUSTOMER_HANDLING.value,
            Perm.EXTENDED_CUSTOMER_HANDLING.value,
        }
        <= held
    )


def processing_record(actor: Actor, data_owner: DataOwner | int) -> ProcessingRecord:
    """The record of processing of a data owner the privacy officer handles; another data
    owner is refused as if it did not exist."""
    require(actor, Perm.PRIVACY_OFFICER)
    owner_id = data_owner.pk if isinstance(data_owner, DataOwner) else data_owner
    owner = privacy_owners(actor).filter(pk=owner_id).first()
    if owner is None:
        raise NotFound(_("No such data owner."), field="data_owner")
    now = timezone.now()

    campaigns = (
        Campaign.objects.filter(crm__data_owner=owner)
        .select_related("crm")
        .prefetch_related("crm__fields", "extra_fields", "users", "teams")
        .order_by("name", "pk")
    )
    record = ProcessingRecord(
        generated_at=timezone.localtime(now),
        data_owner=owner.name,
        controller=owner.controller_name,
        org_number=owner.org_number,
        purpose=owner.purpose,
    )
    for c in campaigns:
        c.crm.data_owner = owner  # controller_name and purpose_text read it
        record.campaigns.append(
            CampaignRecord(
                name=c.name,
                crm=f"{c.crm.name} · {c.crm.get_kind_display()}",
                controller=c.controller_name,
                purpose=c.purpose_text,
                legal_basis=c.legal_basis_text or legal_basis(c.crm),
                legal_basis_default=not c.legal_basis_text,
                data_subjects=data_subjects(c.crm),
                personal_data=_personal_data(c),
                free_text=_free_text(c),
                retention=retention(c.crm),
                open_to=_open_to(c),
                period=(c.visible_from, c.visible_until),
            )
        )

    event_labels = dict(EventType.choices)
    for s in Subscription.objects.filter(data_owner=owner, is_active=True).order_by("url", "pk"):
        record.webhooks.append(
            WebhookRecipient(
                host=urlsplit(s.url).hostname or s.url,
                url=s.url,
                events=[str(event_labels.get(e, e)) for e in s.events],
                description=s.description,
            )
        )

    direct = DataOwner.users.through.objects.filter(dataowner=owner)
    by_team = DataOwner.teams.through.objects.filter(dataowner=owner)
    product_perms = Permission.objects.filter(
        content_type__app_label="accounts", codename__in=list(PERM_LABELS)
    )
    roles = Group.objects.prefetch_related(Prefetch("permissions", product_perms))
    users = (
        User.objects.filter(is_active=True)
        .filter(
            Q(pk__in=direct.values("user"))
            | Q(team__in=by_team.values("team"))
            | Q(is_superuser=True)
        )
        .select_related("team")
        .prefetch_related(
            Prefetch("user_permissions", product_perms),
            Prefetch("groups", roles),
            Prefetch(
                "api_tokens",
                ApiToken.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                .filter(revoked_at__isnull=True)
                .order_by("name", "pk"),
            ),
        )
        .order_by("first_name", "last_name", "username")
    )
    granted_directly = set(direct.values_list("user", flat=True))
    granted_teams = set(by_team.values_list("team", flat=True))
    for user in users:
        held = _permissions(user)
        if user.pk in granted_directly:
            through = _("Granted directly")
        elif user.team_id in granted_teams:
            through = _("Team %(team)s") % {"team": user.team}
        else:
            through = _("Superuser: every data owner")
        record.users.append(
            PersonWithAccess(
                name=str(user),
                username=user.username,
                permissions=[str(label) for code, label in PERM_LABELS.items() if code in held],
                granted_through=through,
                integration=user.is_integration,
                superuser=user.is_superuser,
            )
        )
        if Perm.API_ACCESS.value in held:
            record.tokens += [
                TokenRecipient(t.name, t.prefix, str(user), user.is_integration, t.expires_at)
                for t in user.api_tokens.all()
            ]
        if _may_export(held) and not user.is_integration:
            record.exporters.append(str(user))

    teams = Team.objects.filter(pk__in=by_team.values("team")).annotate(
        active_members=Count("members", filter=Q(members__is_active=True))
    )
    record.teams = [TeamWithAccess(t.name, t.active_members) for t in teams.order_by("name")]
    return record
