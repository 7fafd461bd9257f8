"""Tokens for the world's people, and a client that sends them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import close_old_connections
from django.test import Client

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.services import token_create
from kundeflyt.crm.models import Customer
from kundeflyt.crm.services import customer_create
from tests.factories import CampaignFactory, CRMFactory, UserFactory
from tests.world import SETUP, World


def grant(user: User, *perms: Perm) -> User:
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=[p.value for p in perms]
        )
    )
    return User.objects.get(pk=user.pk)  # no cached permissions


def token_for(user: User, name: str = "CRM-synk") -> str:
    return token_create(grant(user, Perm.API_ACCESS), name=name)[1]


def at_once(clients: int, call: Callable[[], Any]) -> list[Any]:
    """``call`` from ``clients`` threads released together (a barrier), each with its own
    database connection: the answers, in the order they came."""
    answers: list[Any] = []
    start = threading.Barrier(clients)

    def one() -> None:
        try:
            start.wait()
            answers.append(call())
        finally:
            close_old_connections()

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


class Api:
    """The test client, speaking to /api/v1/ with a token."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)


@dataclass
class Tenants:
    world: World
    other_customer: Customer  # of another data owner
    other_user: User  # an agent of that other data owner


@pytest.fixture
def tenants(world: World) -> Tenants:
    crm = CRMFactory(name="Annen")
    campaign = CampaignFactory(crm=crm, name="Annen eiers kampanje")
    other_user = UserFactory(username="annen", perms=[Perm.CUSTOMER_HANDLING])
    crm.data_owner.users.add(other_user)
    customer = customer_create(
        SETUP, crm=crm, customer_id="X-1", name="Skjult kunde", phone1="+4791234567"
    )
    assert campaign.pk
    return Tenants(world, customer, other_user)
