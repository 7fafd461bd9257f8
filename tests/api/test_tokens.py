"""Personal API tokens: made by users with API access, shown once, kept as a digest; a
revoked or expired token, or one whose user lost API access or left, opens nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kundeflyt.accounts.permissions import Perm
from kundeflyt.api.models import ApiToken
from kundeflyt.api.services import digest_of, token_create, token_revoke
from kundeflyt.common.errors import DomainError, NotAllowed, NotFound
from kundeflyt.common.models import AuditEntry
from tests.api.conftest import Api, grant, token_for
from tests.factories import UserFactory
from tests.world import World

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_kept_as_a_digest(client: Client, world: World) -> None:
    user = grant(world.supervisor, Perm.API_ACCESS)

    token, raw = token_create(user, name="Kundens CRM")

    assert raw.startswith("kf_") and len(raw) > 40
    assert token.digest == digest_of(raw) and raw not in str(token.__dict__)
    assert AuditEntry.objects.filter(action="api_token.create").count() == 1
    answer = Api(client, raw).get("/me")
    assert answer.status_code == 200
    assert answer.json()["username"] == "supervisor"
    assert "api_access" in answer.json()["permissions"]
    assert ApiToken.objects.get().last_used_at is not None


def test_making_a_token_needs_api_access_and_a_name(world: World) -> None:
    with pytest.raises(NotAllowed):
        token_create(world.agent, name="x")
    user = grant(world.agent, Perm.API_ACCESS)
    with pytest.raises(DomainError):
        token_create(user, name="  ")
    with pytest.raises(DomainError):
        token_create(user, name="x", expires_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(DomainError):
        token_create(user, name="x\x00")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("spoil", ["revoked", "expired", "no_access", "inactive", "other"])
def test_a_spoilt_token_gets_a_401_problem(client: Client, world: World, spoil: str) -> None:
    raw = token_for(world.supervisor)
    token = ApiToken.objects.get()
    match spoil:
        case "revoked":
            token_revoke(world.supervisor, token_id=token.pk)
        case "expired":
            ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        case "no_access":
            world.supervisor.user_permissions.filter(codename="api_access").delete()
        case "inactive":
            type(world.supervisor).objects.filter(pk=world.supervisor.pk).update(is_active=False)
        case "other":
            raw = raw[:-2] + ("AA" if not raw.endswith("AA") else "BB")

    answer = Api(client, raw).get("/me")

    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"] == "Bearer"
    assert answer.json()["status"] == 401


def test_no_token_or_a_session_alone_gets_401(client: Client, world: World) -> None:
    assert Api(client, None).get("/me").status_code == 401
    client.force_login(world.supervisor)
    assert Api(client, None).get("/data-owners").status_code == 401


def test_only_the_owner_or_an_administrator_revokes(world: World) -> None:
    token_for(world.supervisor)
    token = ApiToken.objects.get()
    with pytest.raises(NotFound):
        token_revoke(world.agent, token_id=token.pk)
    admin = UserFactory(username="boss", perms=[Perm.ADMINISTRATOR])

    token_revoke(admin, token_id=token.pk)

    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin


def test_a_token_past_its_rate_is_answered_429_with_retry_after(
    client: Client, world: World, settings: Any
) -> None:
    settings.API_RATE_LIMIT = 3
    first = Api(client, token_for(world.agent))
    second = Api(client, token_for(world.agent2, name="andre"))

    answers = [first.get("/me").status_code for _ in range(5)]
    refused = first.get("/me")

    assert answers == [200, 200, 200, 429, 429]
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert second.get("/me").status_code == 200  # per token
