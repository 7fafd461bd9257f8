"""A local receiver of webhooks: a real HTTP server on a free port that answers as told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kundeflyt.webhooks.models import Subscription
from kundeflyt.webhooks.services import subscription_create
from tests.api.conftest import grant, tenants  # noqa: F401 (a fixture, for the API tests here)
from tests.world import World


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)  # the next answers, then 204
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def bodies(self) -> list[bytes]:
        return [body for _headers, body in self.got]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # it listens on 127.0.0.1
    server: ThreadingHTTPServer
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.answers.pop(0) if state.answers else 204
            self.send_response(status)
            if status in (301, 302, 307):
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/kundeflyt"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def subscription(world: World, receiver: Receiver) -> Subscription:
    from kundeflyt.accounts.permissions import Perm

    maker = grant(world.supervisor, Perm.API_ACCESS, Perm.CAMPAIGN_SETUP)
    maker.email = "leder@example.no"
    maker.save(update_fields=["email"])
    return subscription_create(
        maker,
        data_owner_id=world.crm.data_owner_id,
        url=receiver.url,
        events=["registration.created", "registration.corrected", "customer.created"],
    )
