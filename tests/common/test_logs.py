"""Personal data never reaches the server's logs (issue 9): request lines lose their query
strings, whatever logs them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from kundeflyt.common.logs import StripQueryStrings, without_query
from tests.world import World


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the settings' console handler writes, for the length of a test."""
    handler = logging.getLogger("django.server").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_request_line_loses_its_query_string() -> None:
    assert without_query('"GET /search/?q=Kari+Nordmann HTTP/1.1" 200') == (
        '"GET /search/?… HTTP/1.1" 200'
    )
    assert without_query("GET /healthz") == "GET /healthz"


def test_the_console_handler_of_the_settings_strips_them(console: io.StringIO) -> None:
    handler = logging.getLogger("django.server").handlers[0]
    assert any(isinstance(f, StripQueryStrings) for f in handler.filters)
    # runserver's request handler logs like this:
    logging.getLogger("django.server").info(
        '"%s" %s %s', "GET /search/?q=41234567&name=Kari HTTP/1.1", "200", "512"
    )
    logged = console.getvalue()
    assert "GET /search/?… HTTP/1.1" in logged
    assert "41234567" not in logged and "Kari" not in logged


def test_request_errors_log_no_personal_data(
    client: Client, world: World, console: io.StringIO
) -> None:
    client.force_login(world.agent)
    client.get(reverse("handling:customer_details", args=[987654]) + "?q=Kari+Nordmann")
    logged = console.getvalue()
    assert "Not Found" in logged
    assert "Kari" not in logged
