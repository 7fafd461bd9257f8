"""The account page's API tokens: make one and see it once, revoke it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.models import ApiToken
from kundeflyt.api.services import digest_of
from tests.api.conftest import Api, grant
from tests.world import World

pytestmark = pytest.mark.django_db


def test_make_a_token_see_it_once_use_it_and_revoke_it(client: Client, world: World) -> None:
    user = grant(world.supervisor, Perm.API_ACCESS)
    client.force_login(user)
    assert "Manage API tokens" in client.get(reverse("accounts:account")).content.decode()

    made = client.post(reverse("api_tokens:token_new"), {"name": "Kundens CRM", "expires": ""})

    page = made.content.decode()
    token = ApiToken.objects.get()
    raw = page.split('id="new-token" value="')[1].split('"')[0]
    assert made.status_code == 200 and digest_of(raw) == token.digest
    assert "shown this once" in page
    listing = client.get(reverse("api_tokens:tokens")).content.decode()
    assert raw not in listing and token.prefix in listing
    assert Api(Client(), raw).get("/me").status_code == 200

    revoked = client.post(reverse("api_tokens:token_revoke", args=[token.pk]), follow=True)

    assert "is revoked" in revoked.content.decode()
    assert Api(Client(), raw).get("/me").status_code == 401


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"name": ""}, "Give the token a name."),
        ({"name": "x", "expires": "2001-01-01"}, "between now and three years"),
        ({"name": "x", "expires": "31.12.2099"}, "yyyy-mm-dd"),
        ({"name": "x" * 101}, "too long"),
    ],
)
def test_a_refused_token_says_why_and_makes_nothing(
    client: Client, world: World, form: dict[str, str], reason: str
) -> None:
    client.force_login(grant(world.supervisor, Perm.API_ACCESS))

    answer = client.post(reverse("api_tokens:token_new"), form, follow=True)

    assert reason in answer.content.decode()
    assert not ApiToken.objects.exists()


def test_without_api_access_there_are_no_tokens(client: Client, world: World) -> None:
    client.force_login(world.supervisor)
    assert "Manage API tokens" not in client.get(reverse("accounts:account")).content.decode()
    assert client.get(reverse("api_tokens:tokens")).status_code == 403
