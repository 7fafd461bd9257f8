"""Integration users: a client's system that never logs in to the pages; an administrator
makes its tokens on the tokens page, and they act with its permissions."""

from __future__ import annotations

import pytest
from django.test import Client

from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.models import ApiToken
from kundeflyt.api.services import token_create
from kundeflyt.common.errors import NotAllowed, NotFound
from tests.api.conftest import Api, Tenants
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def system(tenants: Tenants):  # type: ignore[no-untyped-def]
    user = UserFactory(
        username="crm-synk", perms=[Perm.API_ACCESS, Perm.CUSTOMER_HANDLING], is_integration=True
    )
    tenants.world.crm.data_owner.users.add(user)
    return user


@pytest.fixture
def administrator(tenants: Tenants):  # type: ignore[no-untyped-def]
    user = UserFactory(username="admin", perms=[Perm.ADMINISTRATOR], is_staff=True)
    tenants.world.crm.data_owner.users.add(user)
    return user


def test_an_integration_user_never_logs_in_to_the_pages(client: Client, system) -> None:  # type: ignore[no-untyped-def]
    system.set_password("hemmelig-passord-123")
    system.save()

    assert not client.login(username="crm-synk", password="hemmelig-passord-123")
    answer = client.post("/login/", {"username": "crm-synk", "password": "hemmelig-passord-123"})
    assert answer.status_code == 200 and "_auth_user_id" not in client.session


def test_an_administrator_makes_its_token_on_the_page_and_it_works(
    client: Client,
    system,
    administrator,
    tenants: Tenants,  # type: ignore[no-untyped-def]
) -> None:
    client.force_login(administrator)
    page = client.get("/account/api-tokens/")

    made = client.post(
        "/account/api-tokens/integration/new/", {"integration": system.pk, "name": "CRM-synk"}
    )

    assert "crm-synk" in page.content.decode()
    assert made.status_code == 200
    raw = made.context["raw"]
    assert ApiToken.objects.get(prefix=raw[:11]).user == system
    me = Api(Client(), raw).get("/me").json()
    assert me["username"] == "crm-synk" and "administrator" not in me["permissions"]


def test_tokens_for_others_only_for_integration_users_and_only_by_administrators(
    system,
    administrator,
    tenants: Tenants,  # type: ignore[no-untyped-def]
) -> None:
    person = tenants.world.agent

    with pytest.raises(NotFound):
        token_create(administrator, name="x", integration=person)  # a person makes their own
    with pytest.raises(NotAllowed):
        token_create(tenants.world.supervisor, name="x", integration=system)
    outsider = UserFactory(username="annen-admin", perms=[Perm.ADMINISTRATOR], is_staff=True)
    with pytest.raises(NotFound):
        token_create(outsider, name="x", integration=system)  # not a user they administer
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("integration", ["", "abc", "9" * 40, "99999"])
def test_a_bad_integration_user_is_refused_on_the_page(
    client: Client,
    administrator,
    integration: str,  # type: ignore[no-untyped-def]
) -> None:
    client.force_login(administrator)

    answer = client.post(
        "/account/api-tokens/integration/new/", {"integration": integration, "name": "x"}
    )

    assert answer.status_code in (302, 404, 422)
    assert not ApiToken.objects.exists()
