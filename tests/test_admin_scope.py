"""Rule 9 in the admin (issue 9, item 1): a staff user administers only the data owners granted
to them. Two data owners, Alfa and Bravo, each with a CRM, a campaign, customers, users, a team,
a role and a flow; a staff user with *campaign setup* and one with *administrator*, both granted
Alfa only. For every registered model admin, neither sees, finds, opens, nor attaches anything of
Bravo; a superuser still sees both. Everything of Bravo is named "Bravo", so that a page that
shows any of it is caught by its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.models import ApiToken
from kundeflyt.campaigns.models import (
    Campaign,
    CampaignLink,
    ExtraField,
    OutcomeOption,
    Product,
    Segment,
)
from kundeflyt.common.actors import Process
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import CRM, BlockedNumber, Customer, DataOwner, FieldDefinition
from kundeflyt.crm.services import blocked_number_add
from kundeflyt.flows.models import Flow, Outcome, State
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.handling.services import customer_add
from kundeflyt.telephony.models import ProviderAccount
from tests.factories import CampaignFactory, CRMFactory, DataOwnerFactory, UserFactory, simple_flow
from tests.test_admin import add_rows, errors, page_data, url

pytestmark = pytest.mark.django_db

SETUP = Process("test-setup")

# The one model every data owner shares by design: the block list (rule 11 holds for all).
GLOBAL = {BlockedNumber}

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


@dataclass
class Side:
    """One data owner's world: a row of every model the admin shows or offers as a choice."""

    owner: DataOwner
    rows: dict[type[models.Model], models.Model]
    agent: User

    def __getitem__(self, model: type[models.Model]) -> Any:
        return self.rows[model]


def build_side(name: str, sms_admin_phone: str) -> Side:
    owner = DataOwnerFactory(name=f"{name} AS")
    crm = CRMFactory(data_owner=owner, name=f"{name} privat")
    field = FieldDefinition.objects.create(
        crm=crm, key="employees", label=f"{name} ansatte", type="number"
    )
    flow = simple_flow(f"{name} flyt")
    campaign = CampaignFactory(crm=crm, flow=flow, name=f"{name} kampanje")
    team = Team.objects.create(name=f"{name} team")
    owner.teams.add(team)
    agent = UserFactory(
        username=f"{name.lower()}_agent", first_name=name, last_name="Agent", team=team
    )
    owner.users.add(agent)
    role = Group.objects.create(name=f"{name} rolle")
    role.permissions.add(Permission.objects.get(codename=Perm.CUSTOMER_HANDLING.value))
    agent.groups.add(role)
    keeper = UserFactory(
        username=f"{name.lower()}_admin",
        first_name=name,
        last_name="Admin",
        perms=[Perm.ADMINISTRATOR],
    )
    owner.users.add(keeper)
    segment = Segment.objects.create(campaign=campaign, name=f"{name} varme", priority=1)
    link = CampaignLink.objects.create(campaign=campaign, title=f"{name} lenke", url="https://x.no")
    outcome = Outcome.objects.get(flow=flow, key="refused")
    option = OutcomeOption.objects.create(campaign=campaign, outcome=outcome, label=f"{name} pris")
    extra = ExtraField.objects.create(
        campaign=campaign,
        applies_to=ExtraField.AppliesTo.OUTCOME,
        outcome=outcome,
        key="competitor",
        label=f"{name} konkurrent",
        type="text",
    )
    product = Product.objects.create(campaign=campaign, name=f"{name} fastpris", price=Decimal(9))
    customer = customer_add(
        SETUP, customer_id=f"{name}-1", name=f"{name} kunde", campaign=campaign, segment=segment
    )
    now = timezone.now()
    sold = Outcome.objects.get(flow=flow, key="sold")
    event = Event.objects.create(
        customer=customer,
        campaign=campaign,
        outcome=sold,
        from_state=flow.entry_state(),
        to_state=sold.to_state,
        registered_at=now,
        counts_at=now,
        counts_for_user=agent,
        actor_user=agent,
        comment=f"{name} kommentar",
    )
    line = ProductLine.objects.create(
        customer=customer,
        campaign=campaign,
        event=event,
        product=product,
        status=ProductLine.Status.SOLD,
        unit_price=product.price,
        currency="NOK",
    )
    meeting = Meeting.objects.create(
        customer=customer,
        campaign=campaign,
        event=event,
        starts_at=now,
        booked_by=agent,
        place=f"{name} kontor",
    )
    correction = CorrectionRequest.objects.create(
        event=event, to_user=agent, reason=f"{name} feil", created_at=now, actor_user=keeper
    )
    correction.allowed_outcomes.set(flow.outcomes.all())
    blocked = blocked_number_add(keeper, phone=sms_admin_phone, reason="Reservert")
    login_record = {
        "username": agent.username,
        "user_agent": f"{name} nettleser",
        "ip_address": "10.0.0.1",
        "http_accept": "*/*",
        "path_info": "/login/",
    }
    attempt = AccessAttempt.objects.create(
        **login_record, get_data="", post_data="", failures_since_start=3
    )
    phone = TOTPDevice.objects.create(user=agent, name=f"{name} telefon")
    codes = StaticDevice.objects.create(user=agent, name=f"{name} koder")
    code = StaticToken.objects.create(device=codes, token=f"{name.lower()}1")
    rows: dict[type[models.Model], models.Model] = {
        DataOwner: owner,
        CRM: crm,
        FieldDefinition: field,
        Customer: customer,
        BlockedNumber: blocked,
        Flow: flow,
        State: flow.states.get(key="offer"),
        Outcome: outcome,
        Campaign: campaign,
        Segment: segment,
        CampaignLink: link,
        OutcomeOption: option,
        ExtraField: extra,
        Product: product,
        Placement: customer.placement,
        Event: event,
        ProductLine: line,
        Meeting: meeting,
        CorrectionRequest: correction,
        AuditEntry: AuditEntry.objects.filter(customer=customer).first(),  # type: ignore[dict-item]
        User: agent,
        Team: team,
        Group: role,
        AccessAttempt: attempt,
        AccessLog: AccessLog.objects.create(**login_record),
        AccessFailureLog: AccessFailureLog.objects.create(**login_record),
        TOTPDevice: phone,
        StaticDevice: codes,
        StaticToken: code,
        ProviderAccount: ProviderAccount.objects.create(
            data_owner=owner, backend="46elks", username=f"{name} elks"
        ),
        ApiToken: ApiToken.objects.create(
            user=agent, name=f"{name} CRM", prefix="kf_" + name[:8], digest=name.ljust(64, "0")
        ),
    }
    return Side(owner, rows, agent)


@dataclass
class Scene:
    alfa: Side
    bravo: Side
    setup: User  # *campaign setup*, staff, granted Alfa
    administrator: User  # *administrator*, staff, granted Alfa

    def actor(self, kind: str) -> User:
        return self.setup if kind == "setup" else self.administrator


@pytest.fixture
def scene(admin_user: User) -> Scene:
    return build_scene(admin_user)


def build_scene(admin_user: User) -> Scene:
    """Alfa and Bravo, and a campaign-setup user and an administrator of Alfa."""
    admin_user.language = "en"
    admin_user.save(update_fields=["language"])
    alfa = build_side("Alfa", "+4791111111")
    bravo = build_side("Bravo", "+4792222222")
    setup = UserFactory(
        username="sigrid", first_name="Sigrid", perms=[Perm.CAMPAIGN_SETUP], is_staff=True
    )
    administrator = UserFactory(
        username="anders", first_name="Anders", perms=[Perm.ADMINISTRATOR], is_staff=True
    )
    alfa.owner.users.add(setup, administrator)
    return Scene(alfa, bravo, setup, administrator)


def login(client: Client, user: User) -> Client:
    client.force_login(User.objects.get(pk=user.pk))  # a fresh permission cache
    return client


def may_view(user: User, model: type[models.Model]) -> bool:
    meta = model._meta
    return User.objects.get(pk=user.pk).has_perm(f"{meta.app_label}.view_{meta.model_name}")


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table but the sessions: what a refused post must leave as it was."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models(include_auto_created=True)
        if model is not Session
    }


def browser_data(response: Any) -> dict[str, Any]:
    """What a browser posts unchanged: like `page_data`, but a multiple choice posts only the
    options it was offered (a linked row outside the scope is no option)."""
    data = page_data(response)
    for name, field in response.context["adminform"].form.fields.items():
        if isinstance(field, forms.ModelMultipleChoiceField) and name in data:
            offered = set(field.queryset.values_list("pk", flat=True))
            data[name] = [pk for pk in data[name] if int(pk) in offered]
    return data


def choice_fields(response: Any) -> list[tuple[str, forms.ModelChoiceField]]:
    """Every choice of a model on the page's form and its inlines, named as they post. An
    inline row's own id is left out: Django saves only rows of the formset's own parent
    (`test_an_inline_row_of_another_data_owner_is_not_saved`)."""
    found: list[tuple[str, forms.ModelChoiceField]] = []
    context = response.context
    if not context or "adminform" not in context:
        return found
    for name, field in context["adminform"].form.fields.items():
        if isinstance(field, forms.ModelChoiceField):
            found.append((name, field))
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        for name, field in formset.empty_form.fields.items():
            own = (formset.fk.name, formset.model._meta.pk.name)
            if isinstance(field, forms.ModelChoiceField) and name not in own:
                found.append((f"{formset.prefix}-{name}", field))
    return found


def bravo_row_for(scene: Scene, field: forms.ModelChoiceField) -> models.Model | None:
    return scene.bravo.rows.get(field.queryset.model)


ACTORS = ["setup", "administrator"]


def test_every_registered_model_admin_is_in_this_test() -> None:
    """A new model admin fails here until it is scoped and given rows of both data owners."""
    from kundeflyt.accounts.admin_scope import OwnerScopedAdmin, OwnerScopedInline

    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, OwnerScopedAdmin), model
        for inline in model_admin.inlines:
            assert issubclass(inline, OwnerScopedInline), inline


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_the_scene_has_a_row_of_every_registered_model_on_both_sides(
    scene: Scene, model: type[models.Model]
) -> None:
    assert model in scene.alfa.rows and model in scene.bravo.rows, model
    assert scene.alfa[model].pk != scene.bravo[model].pk


# --- Lists and search ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ACTORS)
@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_a_list_shows_only_the_rows_of_the_administered_data_owner(
    client: Client, scene: Scene, model: type[models.Model], kind: str
) -> None:
    actor = scene.actor(kind)
    login(client, actor)
    if not may_view(actor, model):
        assert client.get(url(model, "changelist")).status_code == 403
        return

    listing = client.get(url(model, "changelist"))
    searched = client.get(url(model, "changelist"), {"q": "Bravo"})

    assert listing.status_code == 200
    shown = {row.pk for row in listing.context["cl"].result_list}
    assert scene.alfa[model].pk in shown
    if model in GLOBAL:
        assert scene.bravo[model].pk in shown
    else:
        assert scene.bravo[model].pk not in shown
    assert "Bravo" not in listing.content.decode()
    assert searched.status_code == 200
    assert list(searched.context["cl"].result_list) == []


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_a_superuser_still_sees_both_data_owners(
    admin_client: Client, scene: Scene, model: type[models.Model]
) -> None:
    listing = admin_client.get(url(model, "changelist"))
    searched = admin_client.get(url(model, "changelist"), {"q": "Bravo"})

    shown = {row.pk for row in listing.context["cl"].result_list}
    assert {scene.alfa[model].pk, scene.bravo[model].pk} <= shown
    assert admin_client.get(url(model, "change", scene.bravo[model].pk)).status_code == 200
    if admin.site._registry[model].search_fields and model not in GLOBAL:
        assert scene.bravo[model].pk in {row.pk for row in searched.context["cl"].result_list}


def test_a_campaign_setup_user_finds_no_customer_of_another_data_owner(
    client: Client, scene: Scene
) -> None:
    """The issue's own example: /admin/crm/customer/?q=<a name in owner B>."""
    login(client, scene.setup)

    response = client.get(url(Customer, "changelist"), {"q": "Bravo kunde"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert "Bravo-1" not in response.content.decode()


# --- Another data owner's rows do not exist -------------------------------------------------


@pytest.mark.parametrize("kind", ACTORS)
@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_another_data_owners_rows_answer_404(
    client: Client, scene: Scene, model: type[models.Model], kind: str
) -> None:
    actor = scene.actor(kind)
    login(client, actor)
    if not may_view(actor, model) or model in GLOBAL:
        return
    pk = scene.bravo[model].pk
    before = snapshot()

    answers = {
        view: client.get(url(model, view, pk)).status_code
        for view in ("change", "delete", "history")
    }
    posted = client.post(url(model, "change", pk), {"name": "Endret"}).status_code
    deleted = client.post(url(model, "delete", pk), {"post": "yes"}).status_code

    assert answers == {"change": 404, "delete": 404, "history": 404}
    assert (posted, deleted) == (404, 404)
    assert snapshot() == before


def test_a_user_of_another_data_owner_has_no_password_page(client: Client, scene: Scene) -> None:
    login(client, scene.administrator)
    agent = scene.bravo.agent
    page = reverse("admin:auth_user_password_change", args=[agent.pk])

    assert client.get(page).status_code == 404
    response = client.post(page, {"password1": "ny-hemmelighet-1", "password2": "ny-hemmelighet-1"})
    assert response.status_code == 404
    agent.refresh_from_db()
    assert agent.check_password("pw")


def test_the_delete_action_leaves_another_data_owners_rows_alone(
    client: Client, scene: Scene
) -> None:
    login(client, scene.setup)
    mine, theirs = scene.alfa[CampaignLink].campaign, scene.bravo[Campaign]
    alone = CampaignFactory(crm=mine.crm, flow=mine.flow, name="Alfa tom")

    response = client.post(
        url(Campaign, "changelist"),
        {"action": "delete_selected", "_selected_action": [alone.pk, theirs.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Campaign.objects.filter(pk=alone.pk).exists()
    assert Campaign.objects.filter(pk=theirs.pk).exists()


def test_autocomplete_finds_nothing_of_another_data_owner(client: Client, scene: Scene) -> None:
    login(client, scene.administrator)
    asked = [
        ("campaigns", "campaign", "crm"),
        ("crm", "crm", "data_owner"),
        ("handling", "placement", "customer"),
        ("campaigns", "campaign", "flow"),
        ("accounts", "user", "team"),
        ("handling", "placement", "campaign"),
    ]
    for app_label, model_name, field_name in asked:
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": app_label,
                "model_name": model_name,
                "field_name": field_name,
                "term": "Bravo",
            },
        )
        assert response.status_code in (200, 403, 404), (model_name, field_name)
        assert "Bravo" not in response.content.decode(), (model_name, field_name)


# --- Choices offer nothing of another data owner, and refuse it when posted ------------------


def pages_with_forms(client: Client, scene: Scene, model: type[models.Model]) -> list[str]:
    pages = [url(model, "change", scene.alfa[model].pk)]
    if client.get(url(model, "add")).status_code == 200:
        pages.append(url(model, "add"))
    return pages


@pytest.mark.parametrize("kind", ACTORS)
@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_no_choice_offers_a_row_of_another_data_owner(
    client: Client, scene: Scene, model: type[models.Model], kind: str
) -> None:
    actor = scene.actor(kind)
    login(client, actor)
    if not may_view(actor, model):
        return
    for page in pages_with_forms(client, scene, model):
        response = client.get(page)
        assert response.status_code == 200, page
        assert "Bravo" not in response.content.decode(), page
        for name, field in choice_fields(response):
            theirs = bravo_row_for(scene, field)
            if theirs is not None:
                assert not field.queryset.filter(pk=theirs.pk).exists(), (page, name)


@pytest.mark.parametrize("kind", ACTORS)
@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_posting_a_row_of_another_data_owner_is_refused_and_changes_nothing(
    client: Client, scene: Scene, model: type[models.Model], kind: str
) -> None:
    actor = scene.actor(kind)
    login(client, actor)
    if not may_view(actor, model):
        return
    tried = 0
    for page in pages_with_forms(client, scene, model):
        response = client.get(page)
        for name, field in choice_fields(response):
            theirs = bravo_row_for(scene, field)
            if theirs is None:
                continue
            data = page_data(response)
            if "-" in name:  # a new inline row that names the other data owner's row
                prefix, _sep, column = name.rpartition("-")
                value: Any = (
                    [theirs.pk] if isinstance(field, forms.ModelMultipleChoiceField) else theirs.pk
                )
                add_rows(data, prefix, {column: value})
            elif isinstance(field, forms.ModelMultipleChoiceField):
                data[name] = [*(data.get(name) or []), theirs.pk]
            else:
                data[name] = theirs.pk
            before = snapshot()

            posted = client.post(page, data)

            tried += 1
            assert posted.status_code == 200, (page, name, posted.status_code)
            found = errors(posted)
            assert found, (page, name)
            assert name.rpartition("-")[2] in str(found) or name in str(found), (page, name, found)
            assert snapshot() == before, (page, name)
    if model in {DataOwner, Campaign, CRM, User, Team, Outcome}:
        assert tried, f"no choice of {model.__name__} was tried"


def test_an_inline_row_of_another_data_owner_is_not_saved(client: Client, scene: Scene) -> None:
    """An inline row posted with the id of another data owner's row: Django saves only rows of
    the formset's own parent, so the other row stays as it was."""
    login(client, scene.setup)
    campaign = scene.alfa[Campaign]
    theirs = scene.bravo[Segment]
    data = page_data(client.get(url(Campaign, "change", campaign.pk)))
    data["segments-0-id"] = theirs.pk
    data["segments-0-name"] = "Endret"

    client.post(url(Campaign, "change", campaign.pk), data)

    theirs.refresh_from_db()
    assert (theirs.name, theirs.campaign) == ("Bravo varme", scene.bravo[Campaign])
    assert not Segment.objects.filter(name="Endret").exists()


def test_saving_keeps_the_links_the_form_could_not_offer(client: Client, scene: Scene) -> None:
    """A superuser opened Alfa's campaign to a user Alfa's setup user cannot see: saving the
    campaign keeps that user, unseen."""
    campaign = scene.alfa[Campaign]
    outsider = UserFactory(first_name="Bravo", last_name="Utenfor")
    campaign.users.add(outsider)
    login(client, scene.setup)
    page = client.get(url(Campaign, "change", campaign.pk))
    assert "Utenfor" not in page.content.decode()
    data = browser_data(page)
    data["information"] = "Ny tekst"

    response = client.post(url(Campaign, "change", campaign.pk), data)

    assert response.status_code == 302, errors(response)
    campaign.refresh_from_db()
    assert campaign.information == "Ny tekst"
    assert outsider in campaign.users.all()


def test_a_campaign_cannot_be_made_in_another_data_owners_crm(client: Client, scene: Scene) -> None:
    login(client, scene.setup)
    data = page_data(client.get(url(Campaign, "add")))
    data.update(
        name="Snik",
        crm=scene.bravo[CRM].pk,
        flow=scene.alfa[Flow].pk,
        min_minutes_between_attempts="0",
        currency="NOK",
    )

    response = client.post(url(Campaign, "add"), data)

    assert response.status_code == 200
    assert "crm" in response.context["adminform"].form.errors
    assert not Campaign.objects.filter(name="Snik").exists()


def test_another_data_owners_users_cannot_be_given_access(client: Client, scene: Scene) -> None:
    """The issue: a campaign setup user added users to data owner B, who then saw B's customers."""
    login(client, scene.setup)
    owner = scene.alfa.owner
    data = page_data(client.get(url(DataOwner, "change", owner.pk)))
    data["users"] = [*data["users"], scene.bravo.agent.pk]
    data["teams"] = [*data.get("teams", []), scene.bravo[Team].pk]

    response = client.post(url(DataOwner, "change", owner.pk), data)

    assert response.status_code == 200
    assert {"users", "teams"} <= set(response.context["adminform"].form.errors)
    assert scene.bravo.agent.pk not in owner.users.values_list("pk", flat=True)


# --- Users, teams and roles -----------------------------------------------------------------


def test_an_administrator_cannot_make_anyone_a_superuser(client: Client, scene: Scene) -> None:
    login(client, scene.administrator)
    agent = scene.alfa.agent
    data = page_data(client.get(url(User, "change", agent.pk)))
    data["is_superuser"] = "on"
    before = snapshot()

    response = client.post(url(User, "change", agent.pk), data)

    assert response.status_code == 200
    assert "is_superuser" in response.context["adminform"].form.errors
    assert snapshot() == before


def test_an_administrator_cannot_grant_a_data_owner_it_does_not_administer(
    client: Client, scene: Scene
) -> None:
    login(client, scene.administrator)
    agent = scene.alfa.agent
    page = client.get(url(User, "change", agent.pk))
    offered = page.context["adminform"].form.fields["data_owners"]
    assert list(offered.queryset) == [scene.alfa.owner]
    data = page_data(page)
    data["data_owners"] = [scene.alfa.owner.pk, scene.bravo.owner.pk]
    before = snapshot()

    response = client.post(url(User, "change", agent.pk), data)

    assert response.status_code == 200
    assert "data_owners" in response.context["adminform"].form.errors
    assert snapshot() == before


def test_only_a_superuser_gives_the_administrator_permission(client: Client, scene: Scene) -> None:
    """In the screens *administrator* sees every data owner: giving it would give them all."""
    login(client, scene.administrator)
    agent = scene.alfa.agent
    administrator = Permission.objects.get(codename=Perm.ADMINISTRATOR.value)
    page = client.get(url(User, "change", agent.pk))
    assert administrator not in page.context["adminform"].form.fields["user_permissions"].queryset
    data = page_data(page)
    data["user_permissions"] = [*data.get("user_permissions", []), administrator.pk]
    before = snapshot()

    response = client.post(url(User, "change", agent.pk), data)

    assert response.status_code == 200
    assert "user_permissions" in response.context["adminform"].form.errors
    assert snapshot() == before


def test_an_administrator_keeps_what_it_cannot_give_when_it_edits_a_peer(
    client: Client, scene: Scene
) -> None:
    peer = UserFactory(first_name="Per", perms=[Perm.ADMINISTRATOR, Perm.REPORTING])
    scene.alfa.owner.users.add(peer)
    login(client, scene.administrator)
    data = browser_data(client.get(url(User, "change", peer.pk)))  # *administrator* is no option
    data["first_name"] = "Pål"

    response = client.post(url(User, "change", peer.pk), data)

    assert response.status_code == 302, errors(response)
    peer.refresh_from_db()
    assert peer.first_name == "Pål"
    assert set(peer.user_permissions.values_list("codename", flat=True)) == {
        Perm.ADMINISTRATOR.value,
        Perm.REPORTING.value,
    }


def test_an_administrator_adds_a_user_to_its_own_data_owner(client: Client, scene: Scene) -> None:
    login(client, scene.administrator)
    data = page_data(client.get(url(User, "add")))
    data.update(
        username="kari",
        usable_password="true",
        password1="en-lang-hemmelighet",
        password2="en-lang-hemmelighet",
        team=scene.alfa[Team].pk,
        language="nb",
        time_zone="Europe/Oslo",
    )

    nowhere = client.post(url(User, "add"), data)
    data["data_owners"] = [scene.alfa.owner.pk]
    added = client.post(url(User, "add"), data)

    assert nowhere.status_code == 200
    assert "data_owners" in nowhere.context["adminform"].form.errors
    assert added.status_code == 302, errors(added)
    kari = User.objects.get(username="kari")
    assert list(DataOwner.objects.filter(users=kari)) == [scene.alfa.owner]
    assert client.get(url(User, "change", kari.pk)).status_code == 200


def test_a_user_who_also_works_for_another_data_owner_is_shown_but_not_changed(
    client: Client, scene: Scene
) -> None:
    login(client, scene.administrator)
    shared = scene.bravo.agent
    scene.alfa.owner.users.add(shared)
    data = page_data(client.get(url(User, "change", scene.alfa.agent.pk)))
    data["first_name"] = "Endret"

    page = client.get(url(User, "change", shared.pk))
    posted = client.post(url(User, "change", shared.pk), data)
    password = client.get(reverse("admin:auth_user_password_change", args=[shared.pk]))

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert (posted.status_code, password.status_code) == (403, 403)
    shared.refresh_from_db()
    assert shared.first_name == "Bravo"


def test_an_administrator_cannot_change_a_superuser(
    client: Client, scene: Scene, admin_user: User
) -> None:
    scene.alfa.owner.users.add(admin_user)
    login(client, scene.administrator)

    page = client.get(url(User, "change", admin_user.pk))
    password = client.get(reverse("admin:auth_user_password_change", args=[admin_user.pk]))

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert password.status_code == 403


def test_a_role_cannot_hold_a_permission_its_maker_does_not_hold(
    client: Client, scene: Scene
) -> None:
    login(client, scene.administrator)
    foreign = Permission.objects.get(codename="delete_session")
    held = Permission.objects.get(codename=Perm.REPORTING.value)
    data = page_data(client.get(url(Group, "add")))
    data.update(name="Ny rolle", permissions=[held.pk, foreign.pk])

    refused = client.post(url(Group, "add"), data)
    data["permissions"] = [held.pk]
    made = client.post(url(Group, "add"), data)

    assert refused.status_code == 200
    assert "permissions" in refused.context["adminform"].form.errors
    assert made.status_code == 302, errors(made)
    assert list(Group.objects.get(name="Ny rolle").permissions.all()) == [held]


def test_a_role_shared_with_another_data_owner_is_shown_but_not_changed(
    client: Client, scene: Scene
) -> None:
    role = Group.objects.create(name="Felles rolle")
    scene.alfa.agent.groups.add(role)
    scene.bravo.agent.groups.add(role)
    login(client, scene.administrator)

    page = client.get(url(Group, "change", role.pk))
    posted = client.post(url(Group, "change", role.pk), {"name": "Endret"})

    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert posted.status_code == 403
    assert Group.objects.filter(name="Felles rolle").exists()


def test_a_team_lists_only_the_members_the_administrator_may_see(
    client: Client, scene: Scene
) -> None:
    """A team granted nothing, with a member of each data owner: Alfa's administrator sees the
    team through its Alfa member, counts and names only that member, and may not change it."""
    team = Team.objects.create(name="Felles")
    for agent in (scene.alfa.agent, scene.bravo.agent):
        agent.team = team
        agent.save(update_fields=["team"])
    login(client, scene.administrator)

    listing = client.get(url(Team, "changelist"))
    page = client.get(url(Team, "change", team.pk))
    posted = client.post(url(Team, "change", team.pk), {"name": "Endret"})

    counts = {t.name: t.member_count for t in listing.context["cl"].result_list}
    assert counts["Felles"] == 1
    assert "Bravo" not in listing.content.decode()
    assert "Alfa Agent" in page.content.decode()
    assert "Bravo" not in page.content.decode()
    assert not page.context["has_change_permission"]
    assert posted.status_code == 403
    assert Team.objects.filter(name="Felles").exists()


# --- Flows are shared -----------------------------------------------------------------------


def test_a_flow_used_by_another_data_owner_too_is_shown_but_not_changed(
    client: Client, scene: Scene
) -> None:
    shared = scene.alfa[Flow]
    CampaignFactory(crm=scene.bravo[CRM], flow=shared, name="Bravo lånt")
    login(client, scene.setup)
    data = page_data(client.get(url(Flow, "change", shared.pk)))
    data["description"] = "Endret"

    page = client.get(url(Flow, "change", shared.pk))
    posted = client.post(url(Flow, "change", shared.pk), data)
    outcome = client.post(url(Outcome, "change", scene.alfa[Outcome].pk), {"name": "Endret"})

    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert (posted.status_code, outcome.status_code) == (403, 403)
    shared.refresh_from_db()
    assert shared.description == ""


def test_an_unused_flow_is_open_to_every_setup_user(client: Client, scene: Scene) -> None:
    unused = simple_flow("Ny flyt")
    login(client, scene.setup)
    data = page_data(client.get(url(Flow, "change", unused.pk)))
    data["description"] = "Endret"

    response = client.post(url(Flow, "change", unused.pk), data)

    assert response.status_code == 302, errors(response)
    unused.refresh_from_db()
    assert unused.description == "Endret"


# --- The block list is global ---------------------------------------------------------------


def test_the_block_list_is_shared_but_only_a_superuser_removes_a_number(
    client: Client, admin_client: Client, scene: Scene
) -> None:
    login(client, scene.administrator)
    theirs = scene.bravo[BlockedNumber]

    page = client.get(url(BlockedNumber, "change", theirs.pk))
    removed = client.post(url(BlockedNumber, "delete", theirs.pk), {"post": "yes"})
    added = client.post(url(BlockedNumber, "add"), {"phone": "93333333", "reason": "Ba selv"})

    assert page.status_code == 200 and "Bravo" not in page.content.decode()
    assert removed.status_code == 403
    assert added.status_code == 302
    assert BlockedNumber.objects.filter(pk=theirs.pk).exists()
    assert (
        admin_client.post(url(BlockedNumber, "delete", theirs.pk), {"post": "yes"}).status_code
        == 302
    )
    assert not BlockedNumber.objects.filter(pk=theirs.pk).exists()


def test_audit_rows_without_a_customer_are_for_superusers_only(
    client: Client, admin_client: Client, scene: Scene
) -> None:
    global_rows = AuditEntry.objects.filter(customer__isnull=True)
    assert global_rows.exists()
    login(client, scene.administrator)

    shown = {row.pk for row in client.get(url(AuditEntry, "changelist")).context["cl"].result_list}
    everything = admin_client.get(url(AuditEntry, "changelist")).context["cl"].result_list

    assert not shown & set(global_rows.values_list("pk", flat=True))
    assert set(global_rows.values_list("pk", flat=True)) <= {row.pk for row in everything}


# --- Login lockouts and two-factor devices -------------------------------------------------


def test_an_administrator_unlocks_its_own_users_only(client: Client, scene: Scene) -> None:
    login(client, scene.administrator)
    mine, theirs = scene.alfa[AccessAttempt], scene.bravo[AccessAttempt]
    stranger = AccessAttempt.objects.create(
        username="ukjent",
        user_agent="x",
        ip_address="10.0.0.9",
        http_accept="*/*",
        path_info="/login/",
        get_data="",
        post_data="",
        failures_since_start=10,
    )

    listing = client.get(url(AccessAttempt, "changelist"))
    unlocked = client.post(
        url(AccessAttempt, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [mine.pk, theirs.pk, stranger.pk],
            "post": "yes",
        },
    )

    assert [row.pk for row in listing.context["cl"].result_list] == [mine.pk]
    assert "cleanup_expired_attempts" not in listing.content.decode()
    assert unlocked.status_code == 302
    assert set(AccessAttempt.objects.values_list("pk", flat=True)) == {theirs.pk, stranger.pk}


def test_an_administrator_resets_two_factor_login_of_its_own_users_only(
    client: Client, scene: Scene
) -> None:
    scene.alfa.owner.users.add(scene.bravo.agent)  # works for both: seen, not changed
    login(client, scene.administrator)
    theirs = scene.bravo[TOTPDevice]

    page = client.get(url(TOTPDevice, "change", theirs.pk))
    reset = client.post(url(TOTPDevice, "delete", theirs.pk), {"post": "yes"})
    mine = client.post(url(TOTPDevice, "delete", scene.alfa[TOTPDevice].pk), {"post": "yes"})

    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert reset.status_code == 403
    assert mine.status_code == 302
    assert TOTPDevice.objects.filter(pk=theirs.pk).exists()
    assert not TOTPDevice.objects.filter(pk=scene.alfa[TOTPDevice].pk).exists()


# --- Setting up a new data owner ------------------------------------------------------------


def test_a_setup_user_who_adds_a_data_owner_administers_it(client: Client, scene: Scene) -> None:
    login(client, scene.setup)
    data = page_data(client.get(url(DataOwner, "add")))
    data.update(name="Charlie AS")

    response = client.post(url(DataOwner, "add"), data)

    assert response.status_code == 302, errors(response)
    owner = DataOwner.objects.get(name="Charlie AS")
    assert scene.setup.pk in owner.users.values_list("pk", flat=True)
    assert client.get(url(DataOwner, "change", owner.pk)).status_code == 200
