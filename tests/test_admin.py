"""The administrator sets everything up in Django's admin; what only services may change, the
admin shows and refuses to change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import Permission
from django.db import models
from django.forms import ModelMultipleChoiceField as ModelMulti
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import (
    Campaign,
    CampaignLink,
    ExtraField,
    OutcomeOption,
    Product,
)
from kundeflyt.common.actors import Process
from kundeflyt.common.models import AuditEntry
from kundeflyt.crm.models import CRM, BlockedNumber, Customer, DataOwner, FieldDefinition
from kundeflyt.crm.services import blocked_number_add
from kundeflyt.flows.models import Flow, Outcome, State, StateKind
from kundeflyt.handling.models import CorrectionRequest, Event, Meeting, Placement, ProductLine
from kundeflyt.handling.services import customer_add
from tests.factories import CampaignFactory, SegmentFactory, UserFactory, simple_flow

pytestmark = pytest.mark.django_db

SETUP = Process("test-setup")

READ_ONLY = [Customer, Placement, Event, ProductLine, Meeting, CorrectionRequest, AuditEntry]
EDITABLE = [User, Team, DataOwner, CRM, BlockedNumber, Flow, Outcome, Campaign]


def url(model: type[models.Model], view: str, *args: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.fixture(autouse=True)
def english(admin_user: User) -> None:
    """The admin speaks the user's language; these tests read the English texts."""
    admin_user.language = "en"
    admin_user.save(update_fields=["language"])


@pytest.fixture
def campaign() -> Campaign:
    return CampaignFactory(name="Strøm privat")


def make_customer(campaign: Campaign, n: int, **kwargs: Any) -> Customer:
    return customer_add(
        SETUP,
        customer_id=f"K{n}",
        name=f"Kunde {n}",
        campaign=campaign,
        **kwargs,
    )


def make_event(customer: Customer, campaign: Campaign, actor: User, key: str = "sold") -> Event:
    outcome = Outcome.objects.get(flow=campaign.flow, key=key)
    now = timezone.now()
    return Event.objects.create(
        customer=customer,
        campaign=campaign,
        outcome=outcome,
        from_state=campaign.flow.entry_state(),
        to_state=outcome.to_state or campaign.flow.entry_state(),
        registered_at=now,
        counts_at=now,
        counts_for_user=actor,
        actor_user=actor,
    )


@pytest.fixture
def everything(campaign: Campaign) -> dict[type[models.Model], models.Model]:
    """One row of every model the admin shows, made the way the system makes them."""
    agent = UserFactory(team=Team.objects.create(name="Salg"))
    segment = SegmentFactory(campaign=campaign, name="Varme")
    customer = make_customer(campaign, 1, phone1="912 34 567", segment=segment)
    FieldDefinition.objects.create(
        crm=campaign.crm, key="employees", label="Ansatte", type="number"
    )
    blocked = blocked_number_add(SETUP, phone="+47 400 00 000", reason="Reservert")
    event = make_event(customer, campaign, agent)
    product = Product.objects.create(campaign=campaign, name="Fastpris", price=Decimal("499"))
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
        customer=customer, campaign=campaign, event=event, starts_at=timezone.now(), booked_by=agent
    )
    correction = CorrectionRequest.objects.create(
        event=event, to_user=agent, reason="Feil utfall", created_at=timezone.now()
    )
    correction.allowed_outcomes.set(campaign.flow.outcomes.all())
    return {
        User: agent,
        Team: agent.team,  # type: ignore[dict-item]
        DataOwner: campaign.crm.data_owner,
        CRM: campaign.crm,
        Customer: customer,
        BlockedNumber: blocked,
        Flow: campaign.flow,
        Outcome: campaign.flow.outcomes.first(),  # type: ignore[dict-item]
        Campaign: campaign,
        Placement: customer.placement,
        Event: event,
        ProductLine: line,
        Meeting: meeting,
        CorrectionRequest: correction,
        AuditEntry: AuditEntry.objects.filter(customer=customer).first(),  # type: ignore[dict-item]
    }


# --- Helpers that post an admin form the way a browser would --------------------------------


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for bound in form:
        value = bound.field.prepare_value(bound.value())
        if value is None and isinstance(bound.field, forms.MultipleChoiceField | ModelMulti):
            continue
        if isinstance(bound.field, forms.MultiValueField):
            parts = bound.field.widget.decompress(value)
            values.update({f"{bound.html_name}_{i}": p or "" for i, p in enumerate(parts)})
            continue
        if value is None:
            value = ""
        if value is False:
            continue
        values[bound.html_name] = "on" if value is True else value
    return values


def page_data(response: Any) -> dict[str, Any]:
    """What the page would post unchanged: the main form and every inline's saved rows."""
    data = _form_values(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_values(formset.management_form))
        initial = formset.initial_form_count()
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(initial)
        for form in formset.forms[:initial]:
            data.update(_form_values(form))
    return data


def add_rows(data: dict[str, Any], prefix: str, *rows: dict[str, Any]) -> dict[str, Any]:
    start = int(data[f"{prefix}-TOTAL_FORMS"])
    for i, row in enumerate(rows, start=start):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    data[f"{prefix}-TOTAL_FORMS"] = str(start + len(rows))
    return data


def errors(response: Any) -> list[Any]:
    """Every error on an admin form page, to show why a post was not saved."""
    found: list[Any] = []
    context = response.context
    if context and "adminform" in context:
        found += context["adminform"].form.errors.items()
        for inline in context["inline_admin_formsets"]:
            found += [e for e in inline.formset.errors if e] + inline.formset.non_form_errors()
    return found


# --- Every page opens ----------------------------------------------------------------------


@pytest.mark.parametrize("model", EDITABLE + READ_ONLY, ids=lambda m: m.__name__)
def test_every_list_and_page_opens(
    admin_client: Client, everything: dict[type[models.Model], models.Model], model: Any
) -> None:
    obj = everything[model]

    listing = admin_client.get(url(model, "changelist"))
    page = admin_client.get(url(model, "change", obj.pk))
    adding = admin_client.get(url(model, "add"))

    assert listing.status_code == 200
    assert listing.context["cl"].result_count >= 1
    assert page.status_code == 200
    assert adding.status_code == (403 if model in READ_ONLY else 200)


def test_the_admin_index_lists_every_part(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    for model in EDITABLE + READ_ONLY:
        assert url(model, "changelist") in response.content.decode()


# --- Setting up through the admin ----------------------------------------------------------


def test_a_superuser_sets_up_a_data_owner_crm_field_and_campaign(admin_client: Client) -> None:
    flow = simple_flow("Standard")
    team = Team.objects.create(name="Kundesenter")

    # Data owner with its consumer CRM.
    data = page_data(admin_client.get(url(DataOwner, "add")))
    data.update(name="Kraft AS", org_number="923 609 016", purpose="Salg av strøm", teams=[team.pk])
    add_rows(data, "crms", {"kind": CRM.Kind.B2C, "name": "Privat"})
    response = admin_client.post(url(DataOwner, "add"), data)
    assert response.status_code == 302, errors(response)
    owner = DataOwner.objects.get(name="Kraft AS")
    assert owner.org_number == "923609016"
    assert list(owner.teams.all()) == [team]
    crm = owner.crms.get()
    assert (crm.kind, crm.name) == (CRM.Kind.B2C, "Privat")

    # An information field in the CRM setup.
    data = page_data(admin_client.get(url(CRM, "change", crm.pk)))
    add_rows(
        data,
        "fields",
        {
            "position": "1",
            "label": "Strømavtale",
            "key": "contract",
            "type": "choice",
            "choices": "Fastpris\nSpotpris\n",
            "lookups": [],
        },
    )
    response = admin_client.post(url(CRM, "change", crm.pk), data)
    assert response.status_code == 302, errors(response)
    field = FieldDefinition.objects.get(crm=crm)
    assert (field.key, field.type, field.choices) == (
        "contract",
        "choice",
        ["Fastpris", "Spotpris"],
    )

    # A campaign with a segment, a link and a product.
    data = page_data(admin_client.get(url(Campaign, "add")))
    data.update(
        name="Vinter 2026",
        crm=crm.pk,
        flow=flow.pk,
        visible_from="2026-01-01",
        visible_until="2026-03-31",
        information="Husk å nevne fastprisen.",
        max_attempts="5",
        min_minutes_between_attempts="60",
        currency="nok",
    )
    add_rows(data, "segments", {"name": "Varme", "priority": "1"})
    add_rows(data, "links", {"position": "0", "title": "Prisliste", "url": "https://example.no"})
    add_rows(data, "products", {"name": "Fastpris", "price": "499.00", "active": "on"})
    response = admin_client.post(url(Campaign, "add"), data)
    assert response.status_code == 302, errors(response)
    campaign = Campaign.objects.get(name="Vinter 2026")
    assert (campaign.crm, campaign.flow, campaign.currency) == (crm, flow, "NOK")
    assert campaign.visible_from == dt.date(2026, 1, 1)
    assert [(s.name, s.priority) for s in campaign.segments.all()] == [("Varme", 1)]
    assert CampaignLink.objects.get(campaign=campaign).title == "Prisliste"
    assert Product.objects.get(campaign=campaign).price == Decimal("499.00")


def test_a_field_key_may_not_take_a_standard_fields_name(admin_client: Client) -> None:
    campaign = CampaignFactory()
    data = page_data(admin_client.get(url(CRM, "change", campaign.crm.pk)))
    add_rows(
        data, "fields", {"position": "0", "label": "Telefon", "key": "phone1", "type": "phone"}
    )

    response = admin_client.post(url(CRM, "change", campaign.crm.pk), data)

    assert response.status_code == 200
    assert "is a standard customer field" in response.content.decode()
    assert not FieldDefinition.objects.exists()


def test_a_campaign_cannot_close_before_it_opens(admin_client: Client) -> None:
    campaign = CampaignFactory()
    data = page_data(admin_client.get(url(Campaign, "add")))
    data.update(
        name="Baklengs",
        crm=campaign.crm.pk,
        flow=campaign.flow.pk,
        visible_from="2026-05-01",
        visible_until="2026-04-01",
        min_minutes_between_attempts="0",
    )

    response = admin_client.post(url(Campaign, "add"), data)

    assert response.status_code == 200
    assert "visible_until" in response.context["adminform"].form.errors
    assert not Campaign.objects.filter(name="Baklengs").exists()


def test_a_campaign_cannot_use_a_flow_that_does_not_validate(admin_client: Client) -> None:
    crm = CampaignFactory().crm
    unfinished = Flow.objects.create(name="Uferdig")
    State.objects.create(flow=unfinished, key="available", name="Ledig", kind=StateKind.AVAILABLE)
    data = page_data(admin_client.get(url(Campaign, "add")))
    data.update(name="Ny", crm=crm.pk, flow=unfinished.pk, min_minutes_between_attempts="0")

    response = admin_client.post(url(Campaign, "add"), data)

    assert response.status_code == 200
    assert "flow" in response.context["adminform"].form.errors
    assert not Campaign.objects.filter(name="Ny").exists()


def test_outcome_options_offer_only_the_outcomes_of_the_campaigns_flow(
    admin_client: Client, campaign: Campaign
) -> None:
    other = simple_flow("Annen flyt")
    page = admin_client.get(url(Campaign, "change", campaign.pk))
    options = next(
        i.formset
        for i in page.context["inline_admin_formsets"]
        if i.formset.prefix == "outcome_options"
    )
    offered = set(options.empty_form.fields["outcome"].queryset)
    assert offered == set(campaign.flow.outcomes.all())

    data = page_data(page)
    refused = Outcome.objects.get(flow=other, key="refused")
    add_rows(data, "outcome_options", {"outcome": refused.pk, "position": "0", "label": "Pris"})
    response = admin_client.post(url(Campaign, "change", campaign.pk), data)
    assert response.status_code == 200
    assert not OutcomeOption.objects.exists()

    mine = Outcome.objects.get(flow=campaign.flow, key="refused")
    data = page_data(page)
    add_rows(data, "outcome_options", {"outcome": mine.pk, "position": "0", "label": "Pris"})
    add_rows(
        data,
        "extra_fields",
        {
            "position": "0",
            "applies_to": ExtraField.AppliesTo.OUTCOME,
            "outcome": mine.pk,
            "label": "Konkurrent",
            "key": "competitor",
            "type": "text",
        },
    )
    response = admin_client.post(url(Campaign, "change", campaign.pk), data)
    assert response.status_code == 302, errors(response)
    assert OutcomeOption.objects.get(campaign=campaign).outcome == mine
    assert ExtraField.objects.get(campaign=campaign).outcome == mine


# --- Flows -----------------------------------------------------------------------------------


def test_the_flow_admin_keeps_an_unfinished_flow_and_says_what_is_wrong(
    admin_client: Client,
) -> None:
    from kundeflyt.flows.services import flow_validate

    flow = simple_flow("Salg")
    data = page_data(admin_client.get(url(Flow, "change", flow.pk)))
    add_rows(
        data, "states", {"position": "9", "name": "Glemt", "key": "forgotten", "kind": "final"}
    )

    response = admin_client.post(url(Flow, "change", flow.pk), data, follow=True)

    assert response.status_code == 200
    assert State.objects.filter(flow=flow, key="forgotten").exists()
    with translation.override("en"), pytest.raises(Exception) as problem:
        flow_validate(flow)
    shown = [str(m) for m in response.context["messages"]]
    assert any(problem.value.message in m for m in shown), shown  # type: ignore[attr-defined]
    assert escape(problem.value.message) in response.content.decode()  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(action="flow.save", object_id=str(flow.pk)).exists()


def test_a_valid_flow_saves_without_complaint(admin_client: Client) -> None:
    flow = simple_flow("Salg")
    data = page_data(admin_client.get(url(Flow, "change", flow.pk)))
    data["description"] = "Vanlig salg"

    response = admin_client.post(url(Flow, "change", flow.pk), data, follow=True)

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["success"]
    flow.refresh_from_db()
    assert flow.description == "Vanlig salg"


def test_a_new_flow_is_built_state_by_state(admin_client: Client) -> None:
    data = page_data(admin_client.get(url(Flow, "add")))
    data["name"] = "Enkel"
    add_rows(
        data,
        "states",
        {"position": "0", "name": "Ledig", "key": "available", "kind": StateKind.AVAILABLE},
        {"position": "1", "name": "Solgt", "key": "sold", "kind": StateKind.FINAL},
    )
    response = admin_client.post(url(Flow, "add"), data, follow=True)
    flow = Flow.objects.get(name="Enkel")
    assert [m.level_tag for m in response.context["messages"]] == ["error", "success"]

    available, sold = flow.states.order_by("position")
    data = page_data(admin_client.get(url(Flow, "change", flow.pk)))
    add_rows(
        data,
        "outcomes",
        {
            "position": "0",
            "name": "Salg",
            "key": "sale",
            "from_states": [available.pk],
            "to_state": sold.pk,
            "follow_up": "none",
            "products": "none",
        },
    )
    response = admin_client.post(url(Flow, "change", flow.pk), data, follow=True)

    assert [m.level_tag for m in response.context["messages"]] == ["success"], errors(response)
    assert flow.outcomes.get().to_state == sold


def test_the_outcome_admin_offers_the_states_of_the_outcomes_flow(admin_client: Client) -> None:
    flow = simple_flow("Salg")
    simple_flow("Annen")
    outcome = flow.outcomes.get(key="sold")

    page = admin_client.get(url(Outcome, "change", outcome.pk))

    form = page.context["adminform"].form
    assert set(form.fields["from_states"].queryset) == set(flow.states.all())
    assert set(form.fields["to_state"].queryset) == set(flow.states.all())


# --- Read only: changed only through the services ------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_read_only_admins_refuse_to_add_change_or_delete(
    admin_client: Client, everything: dict[type[models.Model], models.Model], model: Any
) -> None:
    obj = everything[model]
    before = model.objects.filter(pk=obj.pk).values().get()

    changed = admin_client.post(url(model, "change", obj.pk), {"name": "Endret"})
    added = admin_client.post(url(model, "add"), {"name": "Ny"})
    deleted = admin_client.post(url(model, "delete", obj.pk), {"post": "yes"})

    assert (changed.status_code, added.status_code, deleted.status_code) == (403, 403, 403)
    assert model.objects.filter(pk=obj.pk).values().get() == before


def test_the_customer_page_shows_its_fields_and_where_it_is_worked(
    admin_client: Client, campaign: Campaign
) -> None:
    FieldDefinition.objects.create(
        crm=campaign.crm, key="employees", label="Ansatte", type="number"
    )
    customer = customer_add(
        SETUP,
        customer_id="77",
        name="Ola",
        fields={"employees": 12},
        campaign=campaign,
    )

    html = admin_client.get(url(Customer, "change", customer.pk)).content.decode()

    assert "Ansatte" in html and "12" in html
    assert campaign.name in html and "unsegmented" in html
    assert f"?customer__id__exact={customer.pk}" in html


def test_customers_are_found_by_phone_as_people_write_it(
    admin_client: Client, campaign: Campaign
) -> None:
    make_customer(campaign, 1, phone2="+4791234567")
    make_customer(campaign, 2, phone1="+4792222222")

    response = admin_client.get(url(Customer, "changelist"), {"q": "912 34 567"})

    assert [c.customer_id for c in response.context["cl"].result_list] == ["K1"]


# --- Block list ----------------------------------------------------------------------------


def test_blocking_a_number_normalises_it_names_the_admin_and_blocks_its_customers(
    admin_client: Client, admin_user: User, campaign: Campaign
) -> None:
    customer = make_customer(campaign, 1, phone1="+4791234567")

    response = admin_client.post(url(BlockedNumber, "add"), {"phone": "912 34 567", "reason": "Ba"})

    assert response.status_code == 302, errors(response)
    entry = BlockedNumber.objects.get()
    assert (entry.phone, entry.reason, entry.actor_user) == ("+4791234567", "Ba", admin_user)
    customer.refresh_from_db()
    assert customer.is_blocked
    assert AuditEntry.objects.filter(action="blocklist.add", actor_user=admin_user).exists()


def test_a_number_that_is_not_a_phone_number_is_refused_with_the_reason(
    admin_client: Client,
) -> None:
    response = admin_client.post(url(BlockedNumber, "add"), {"phone": "12ab", "reason": ""})

    assert response.status_code == 200
    assert "is not" in str(response.context["adminform"].form.errors["phone"])
    assert not BlockedNumber.objects.exists()


def test_the_same_number_cannot_be_blocked_twice_however_it_is_written(
    admin_client: Client,
) -> None:
    blocked_number_add(SETUP, phone="+4791234567")

    response = admin_client.post(url(BlockedNumber, "add"), {"phone": "0047 912 34 567"})

    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert BlockedNumber.objects.count() == 1


def test_only_administrators_keep_the_block_list(client: Client) -> None:
    """The block list services need the product permission *administrator*; Django's model
    permissions alone let a staff user look, not add or remove."""
    clerk = UserFactory(perms=[], is_staff=True)
    model_perms = Permission.objects.filter(codename__endswith="_blockednumber")
    clerk.user_permissions.add(*model_perms)
    entry = blocked_number_add(SETUP, phone="+4791234567")
    client.force_login(clerk)

    assert client.get(url(BlockedNumber, "changelist")).status_code == 200
    assert client.post(url(BlockedNumber, "add"), {"phone": "92222222"}).status_code == 403
    assert client.post(url(BlockedNumber, "delete", entry.pk), {"post": "yes"}).status_code == 403

    clerk.user_permissions.add(Permission.objects.get(codename=Perm.ADMINISTRATOR.value))
    clerk = User.objects.get(pk=clerk.pk)  # a fresh permission cache
    client.force_login(clerk)
    assert client.post(url(BlockedNumber, "add"), {"phone": "92222222"}).status_code == 302
    assert BlockedNumber.objects.filter(phone="+4792222222", actor_user=clerk).exists()


def test_removing_a_number_from_the_block_list_unblocks_its_customers(
    admin_client: Client, campaign: Campaign
) -> None:
    customer = make_customer(campaign, 1, phone1="+4791234567")
    entry = blocked_number_add(SETUP, phone="+4791234567")

    response = admin_client.post(url(BlockedNumber, "delete", entry.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not BlockedNumber.objects.exists()
    customer.refresh_from_db()
    assert not customer.is_blocked


# --- Users -----------------------------------------------------------------------------------


def test_a_users_page_offers_the_products_permissions_and_keeps_the_others(
    admin_client: Client,
) -> None:
    team = Team.objects.create(name="Salg")
    agent = UserFactory(perms=[Perm.CUSTOMER_HANDLING])
    other = Permission.objects.get(codename="view_campaign")
    agent.user_permissions.add(other)
    page = admin_client.get(url(User, "change", agent.pk))
    offered = page.context["adminform"].form.fields["user_permissions"]
    assert {p.codename for p in offered.queryset} == {p.value for p in Perm}
    assert "Extended customer handling" in page.content.decode()

    data = page_data(page)
    data.update(team=team.pk, time_zone="Europe/London")
    data["user_permissions"] = list(
        Permission.objects.filter(codename__in=["customer_handling", "sms"]).values_list(
            "pk", flat=True
        )
    )
    response = admin_client.post(url(User, "change", agent.pk), data)

    assert response.status_code == 302, errors(response)
    agent.refresh_from_db()
    assert (agent.team, agent.time_zone) == (team, "Europe/London")
    assert set(agent.user_permissions.values_list("codename", flat=True)) == {
        "customer_handling",
        "sms",
        "view_campaign",
    }


def test_a_user_cannot_be_given_a_time_zone_that_does_not_exist(admin_client: Client) -> None:
    agent = UserFactory()
    data = page_data(admin_client.get(url(User, "change", agent.pk)))
    data["time_zone"] = "Europe/Atlantis"

    response = admin_client.post(url(User, "change", agent.pk), data)

    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors


def test_an_administrator_adds_a_user_with_team_and_language(admin_client: Client) -> None:
    team = Team.objects.create(name="Salg")
    data = page_data(admin_client.get(url(User, "add")))
    data.update(
        username="kari",
        usable_password="true",
        password1="en-lang-hemmelighet",
        password2="en-lang-hemmelighet",
        first_name="Kari",
        team=team.pk,
        language="nb",
        time_zone="Europe/Oslo",
    )

    response = admin_client.post(url(User, "add"), data)

    assert response.status_code == 302, errors(response)
    kari = User.objects.get(username="kari")
    assert (kari.team, kari.language, kari.first_name) == (team, "nb", "Kari")


def test_the_team_list_counts_members(admin_client: Client) -> None:
    team = Team.objects.create(name="Salg")
    UserFactory.create_batch(3, team=team)

    response = admin_client.get(url(Team, "changelist"))

    assert [getattr(t, "member_count", None) for t in response.context["cl"].result_list] == [3]


# --- Lists cost the same number of queries however long they are ---------------------------


def _customers(campaign: Campaign, agent: User, count: int) -> None:
    start = Customer.objects.count()
    for n in range(start, start + count):
        make_customer(campaign, n, phone1=f"+479{n:07d}")


def _events(campaign: Campaign, agent: User, count: int) -> None:
    for n in range(count):
        customer = make_customer(campaign, Customer.objects.count() + 1)
        make_event(customer, campaign, agent, key=("sold", "refused", "no_answer")[n % 3])


def _product_lines(campaign: Campaign, agent: User, count: int) -> None:
    product, _ = Product.objects.get_or_create(campaign=campaign, name="Fastpris")
    for _n in range(count):
        customer = make_customer(campaign, Customer.objects.count() + 1)
        event = make_event(customer, campaign, agent)
        ProductLine.objects.create(
            customer=customer,
            campaign=campaign,
            event=event,
            product=product,
            status="sold",
            unit_price=1,
            currency="NOK",
        )


def _corrections(campaign: Campaign, agent: User, count: int) -> None:
    for _n in range(count):
        customer = make_customer(campaign, Customer.objects.count() + 1)
        event = make_event(customer, campaign, agent)
        CorrectionRequest.objects.create(
            event=event, to_user=agent, reason="Feil", created_at=timezone.now(), actor_user=agent
        )


@pytest.mark.parametrize(
    ("model", "make_rows"),
    [
        (Customer, _customers),
        (Placement, _customers),
        (AuditEntry, _customers),
        (Event, _events),
        (ProductLine, _product_lines),
        (CorrectionRequest, _corrections),
    ],
    ids=lambda p: getattr(p, "__name__", ""),
)
def test_a_list_costs_the_same_queries_for_3_and_for_30_rows(
    admin_client: Client,
    campaign: Campaign,
    model: Any,
    make_rows: Any,
    django_assert_max_num_queries: Any,
) -> None:
    agent = UserFactory()
    make_rows(campaign, agent, 3)
    with django_assert_max_num_queries(30) as few:
        small = admin_client.get(url(model, "changelist"))
    make_rows(campaign, agent, 27)

    with django_assert_max_num_queries(len(few)):
        large = admin_client.get(url(model, "changelist"))

    assert small.status_code == large.status_code == 200
    assert len(large.context["cl"].result_list) >= 30
