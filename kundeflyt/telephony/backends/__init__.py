"""Providers of calls and SMS, each behind ``base.Backend``."""

from __future__ import annotations

from kundeflyt.telephony.backends.base import Backend
from kundeflyt.telephony.backends.console import ConsoleBackend
from kundeflyt.telephony.backends.elks import ElksBackend
from kundeflyt.telephony.backends.twilio import TwilioBackend
from kundeflyt.telephony.credentials import secret_of
from kundeflyt.telephony.models import Backend as BackendName
from kundeflyt.telephony.models import ProviderAccount

BACKENDS: dict[str, type[Backend]] = {
    BackendName.CONSOLE: ConsoleBackend,
    BackendName.ELKS: ElksBackend,
    BackendName.TWILIO: TwilioBackend,
}


def backend_for(account: ProviderAccount) -> Backend:
    """The account's provider. Its secret is read (unsealed, or taken from the environment)
    when first used, so a DomainError for an unreadable one comes from the call that needs
    it: sending, or checking a Twilio signature; never from a 46elks callback."""
    if account.backend == BackendName.CONSOLE:
        return ConsoleBackend(account, "")
    sealed, variable = account.sealed_secret, account.secret_variable
    return BACKENDS[account.backend](account, lambda: secret_of(sealed, variable))
