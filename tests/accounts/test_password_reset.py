"""Forgot your password?: a link by e-mail to an active person's address, used once to choose a
new password; nothing for an unknown address or an integration user, and the page says the
same either way."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    """An anonymous visitor whose browser asks for English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def test_the_pages_and_the_mail_speak_norwegian_too() -> None:
    norwegian = Client(HTTP_ACCEPT_LANGUAGE="nb")
    UserFactory(username="ola", email="ola@example.no")
    assert "Glemt passordet?" in norwegian.get(reverse("login")).content.decode()
    norwegian.post(reverse("password_reset"), {"email": "ola@example.no"})
    assert mail.outbox[0].subject == "Nytt passord til Kundeflyt"
    assert "Brukernavnet ditt er ola." in mail.outbox[0].body


def test_a_person_chooses_a_new_password_through_the_link(client: Client) -> None:
    kari = UserFactory(username="kari", email="kari@example.no")
    assert "Forgot your password?" in client.get(reverse("login")).content.decode()

    response = client.post(reverse("password_reset"), {"email": "KARI@example.no"})

    assert response.status_code == 302
    assert "Check your e-mail" in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["kari@example.no"]
    assert "Your username is kari." in message.body
    link = re.search(r"https?://[^/]+(/password-reset/[^\s]+)", message.body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    saved = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Fjellvann-2026!", "new_password2": "Fjellvann-2026!"},
    )
    assert saved.status_code == 302
    kari.refresh_from_db()
    assert kari.check_password("Fjellvann-2026!")
    again = client.get(link.group(1), follow=True)
    assert "The link is used or too old" in again.content.decode()


def test_no_link_for_an_unknown_address_or_an_integration_user(client: Client) -> None:
    UserFactory(username="crm", email="crm@example.no", is_integration=True)
    UserFactory(username="gone", email="gone@example.no", is_active=False)

    for email in ("crm@example.no", "gone@example.no", "nobody@example.no"):
        response = client.post(reverse("password_reset"), {"email": email})
        assert response.status_code == 302  # the same answer: no address is revealed

    assert mail.outbox == []


def test_a_bad_address_is_refused_naming_the_field(client: Client) -> None:
    response = client.post(reverse("password_reset"), {"email": "not an address\x00"})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert mail.outbox == []
