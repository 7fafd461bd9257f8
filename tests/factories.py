"""factory_boy factories for the domain. Placements and events are made through services."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Permission

from kundeflyt.accounts.models import Team, User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.campaigns.models import Campaign, Segment
from kundeflyt.crm.models import CRM, DataOwner
from kundeflyt.flows.models import Flow, Outcome, State, StateKind


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="no_NO")
    last_name = factory.Faker("last_name", locale="no_NO")
    password = factory.django.Password("pw")
    language = "en"

    @factory.post_generation
    def perms(self, create: bool, extracted: list[Perm] | None, **kwargs: object) -> None:
        """``UserFactory(perms=[Perm.CUSTOMER_HANDLING])``; agents by default."""
        wanted = [Perm.CUSTOMER_HANDLING] if extracted is None else extracted
        if wanted:
            self.user_permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="accounts", codename__in=[p.value for p in wanted]
                )
            )


class DataOwnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataOwner

    name = factory.Sequence(lambda n: f"Dataeier {n} AS")
    purpose = "Salg av strøm"


class CRMFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CRM

    data_owner = factory.SubFactory(DataOwnerFactory)
    kind = CRM.Kind.B2C
    name = "Privat"


def simple_flow(name: str = "Test flow") -> Flow:
    """available --(no answer: attempt | call back: attempt+follow-up | sold | refused)-->"""
    flow = Flow.objects.create(name=name)
    available = State.objects.create(
        flow=flow, key="available", name="Ledig", kind=StateKind.AVAILABLE
    )
    offer = State.objects.create(
        flow=flow, key="offer", name="Tilbud sendt", kind=StateKind.FOLLOW_UP, position=1
    )
    sold = State.objects.create(
        flow=flow, key="sold", name="Solgt", kind=StateKind.FINAL, position=2
    )
    refused = State.objects.create(
        flow=flow, key="refused", name="Ikke interessert", kind=StateKind.FINAL, position=3
    )
    no_answer = Outcome.objects.create(flow=flow, key="no_answer", name="Ikke svar")
    no_answer.from_states.set([available, offer])
    call_back = Outcome.objects.create(
        flow=flow,
        key="call_back",
        name="Ring tilbake",
        follow_up="required",
        follow_up_default_minutes=60,
        position=1,
    )
    call_back.from_states.set([available, offer])
    offer_sent = Outcome.objects.create(
        flow=flow,
        key="offer_sent",
        name="Tilbud sendt",
        to_state=offer,
        follow_up="required",
        products="offered",
        position=2,
    )
    offer_sent.from_states.set([available])
    sale = Outcome.objects.create(
        flow=flow, key="sold", name="Salg", to_state=sold, products="sold", position=3
    )
    sale.from_states.set([available, offer])
    refuse = Outcome.objects.create(
        flow=flow,
        key="refused",
        name="Ikke interessert",
        to_state=refused,
        comment_required=True,
        position=4,
    )
    refuse.from_states.set([available, offer])
    return flow


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    crm = factory.SubFactory(CRMFactory)
    name = factory.Sequence(lambda n: f"Kampanje {n}")
    flow = factory.LazyFunction(lambda: simple_flow(f"Flow {Flow.objects.count() + 1}"))


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    priority = 100
