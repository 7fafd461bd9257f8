from __future__ import annotations

from django.test import Client
from django.urls import reverse

from kundeflyt.accounts.permissions import Perm
from tests.factories import UserFactory


def test_the_administrator_permission_opens_the_admin(client: Client, db: None) -> None:
    admin = UserFactory(perms=[Perm.ADMINISTRATOR], is_staff=True)
    client.force_login(admin)
    assert client.get(reverse("admin:campaigns_campaign_add")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200


def test_campaign_setup_opens_campaigns_but_not_users(client: Client, db: None) -> None:
    setup = UserFactory(perms=[Perm.CAMPAIGN_SETUP], is_staff=True)
    client.force_login(setup)
    assert client.get(reverse("admin:campaigns_campaign_add")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_staff_without_product_permissions_sees_nothing(client: Client, db: None) -> None:
    client.force_login(UserFactory(perms=[Perm.CUSTOMER_HANDLING], is_staff=True))
    assert client.get(reverse("admin:campaigns_campaign_add")).status_code == 403
