"""Races on PostgreSQL (issue 14): real threads, each with its own connection, started
together. An SMS that several workers take at once reaches the provider once; an agent who
clicks Call twice at once makes one call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections

from kundeflyt.accounts.permissions import Perm
from kundeflyt.common.errors import Conflict, DomainError
from kundeflyt.handling.services import customer_select
from kundeflyt.telephony.calls import call_start
from kundeflyt.telephony.models import Backend, Call, ProviderAccount, Sms
from kundeflyt.telephony.services import provider_account_save, sms_attempt, sms_send
from tests.factories import UserFactory
from tests.telephony.conftest import PHONE
from tests.telephony.fakes import Answer, FakeElks, elks  # noqa: F401 (a fixture)
from tests.world import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(clients: int, call: Callable[[], Any]) -> list[Any]:
    """``call`` from ``clients`` threads released together; what each returned or raised."""
    answers: list[Any] = []
    start = threading.Barrier(clients)

    def one() -> None:
        try:
            start.wait()
            answers.append(call())
        except Exception as error:  # the refusal is the answer
            answers.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def texter(world: World) -> Any:
    world.campaign.sms_enabled = True
    world.campaign.sms_sender = "Nordlys"
    world.campaign.calls_enabled = True
    world.campaign.caller_number = "+4721000000"
    world.campaign.save()
    agent = UserFactory(
        username="texter", phone="+4798765432", perms=[Perm.CUSTOMER_HANDLING, Perm.SMS]
    )
    world.crm.data_owner.users.add(agent)
    customer = world.customer(1, phone1=PHONE)
    customer_select(agent, customer_id=customer.pk)
    return agent, customer


def test_an_sms_several_workers_take_at_once_reaches_the_provider_once(
    world: World,
    elks: FakeElks,  # noqa: F811
    settings: Any,
) -> None:
    settings.TELEPHONY_API_URLS = {"46elks": elks.api_url, "twilio": "http://127.0.0.1:9"}
    agent, customer = texter(world)
    provider_account_save(
        UserFactory(perms=[Perm.ADMINISTRATOR]),
        account=ProviderAccount(
            data_owner=world.crm.data_owner, backend=Backend.ELKS, username=elks.username
        ),
        secret=elks.password,
    )
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    sms = sms_send(agent, customer_id=customer.pk, phone=PHONE, text="Hei", purpose="service")
    elks.answer_next(Answer(delay=0.5))  # the provider is slow: the others come meanwhile

    at_once(4, lambda: sms_attempt(sms.pk))

    assert len(elks.sms_requests()) == 1
    sms.refresh_from_db()
    assert (sms.attempts, sms.status) == (1, "sent")  # taken by 46elks; no report address


def test_two_clicks_on_call_at_once_make_one_call(world: World) -> None:
    agent, customer = texter(world)

    answers = at_once(2, lambda: call_start(agent, customer_id=customer.pk, phone=PHONE))

    assert Call.objects.count() == 1
    refused = [a for a in answers if isinstance(a, DomainError)]
    assert [type(a) for a in refused] == [Conflict]  # "You are in a call already"
    assert refused[0].field == "phone"
    assert Sms.objects.count() == 0
