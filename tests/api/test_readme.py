"""The README's API example, run with curl against the live server: what the docs promise a
client's CRM works as written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kundeflyt.accounts.permissions import Perm
from kundeflyt.crm.models import Customer
from kundeflyt.webhooks.models import Subscription
from tests.api.conftest import grant, token_for
from tests.world import World

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    """The commands of the README's API example, without its two lines of settings."""
    text = README.read_text()
    block = re.search(r"<!-- api-example -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "the README's API example is gone"
    lines = [line.strip() for line in block.group(1).splitlines()]
    return "\n".join(lines[2:])


@pytest.mark.django_db(transaction=True)
def test_the_readme_api_example_runs_as_written(
    live_server: Any, world: World, settings: Any
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("needs curl (.ci/run installs it)")
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the example's receiver is not looked up
    token = token_for(grant(world.supervisor, Perm.CAMPAIGN_SETUP))
    env = {
        "PATH": "/usr/bin:/bin",
        "TOKEN": token,
        "API": f"{live_server.url}/api/v1",
        "OWNER": str(world.crm.data_owner_id),
        "CRM": str(world.crm.pk),
        "CAMPAIGN": str(world.campaign.pk),
    }
    # Every command must answer 2xx: curl fails on anything else, and so does the script.
    prelude = 'set -euo pipefail\ncurl() { command curl -sS --fail-with-body "$@"; echo; }\n'

    run = subprocess.run(
        ["bash", "-c", prelude + example()], env=env, capture_output=True, text=True, timeout=60
    )

    assert run.returncode == 0, run.stdout + run.stderr
    customer = Customer.objects.get(crm=world.crm, customer_id="K-1001")
    assert customer.phone1 == "+4791234567" and customer.placement.campaign == world.campaign
    assert Subscription.objects.get().events == ["registration.corrected", "registration.created"]
    assert '"customer_id": "K-1001"' in run.stdout or '"customer_id":"K-1001"' in run.stdout
