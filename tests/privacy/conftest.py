from __future__ import annotations

import pytest

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm
from tests.factories import UserFactory
from tests.world import World


@pytest.fixture
def officer(world: World) -> User:
    """A privacy officer of the world's data owner."""
    user = UserFactory(
        username="officer", first_name="Pia", last_name="Vern", perms=[Perm.PRIVACY_OFFICER]
    )
    world.crm.data_owner.users.add(user)
    return user
