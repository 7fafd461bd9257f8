"""Making, using and revoking API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kundeflyt.accounts.models import User
from kundeflyt.accounts.permissions import Perm, has_perm, require
from kundeflyt.accounts.visibility import CHANGE, users_administered_by
from kundeflyt.api.models import NAME_LENGTH, ApiRateWindow, ApiToken
from kundeflyt.common.audit import audit
from kundeflyt.common.bounds import bounded_text
from kundeflyt.common.configuration import version_subquery
from kundeflyt.common.errors import DomainError, NotFound

PREFIX = "kf_"
LONGEST_LIFE = dt.timedelta(days=3 * 366)
# A token's use is written down at most this often: not a write per request.
USE_RECORDED_EVERY = dt.timedelta(minutes=5)
RATE_PERIOD = 60  # seconds: requests are counted per token and minute


def digest_of(raw: str) -> str:
    """Tokens are 256 random bits: a plain SHA-256 is enough to keep them unreadable."""
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(
    actor: User,
    *,
    name: str,
    expires_at: dt.datetime | None = None,
    integration: User | None = None,
) -> tuple[ApiToken, str]:
    """A new token for the actor, who needs *API access*; or, made by an administrator, for
    an ``integration`` user they administer (which needs *API access* itself). Returns the
    token and its text, which is shown once and never stored."""
    owner = actor
    if integration is not None:
        require(actor, Perm.ADMINISTRATOR)
        administered = users_administered_by(actor, CHANGE).filter(pk=integration.pk)
        if not integration.is_integration or not administered.exists():
            raise NotFound(_("No such integration user."), field="integration")
        owner = integration
    require(owner, Perm.API_ACCESS)
    name = bounded_text(name, field="name", max_length=NAME_LENGTH, label=_("Name"))
    if not name:
        raise DomainError(_("Give the token a name."), field="name")
    now = timezone.now()
    if expires_at is not None and not now < expires_at <= now + LONGEST_LIFE:
        raise DomainError(
            _("A token expires between now and three years from now."), field="expires_at"
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=owner, name=name, prefix=raw[:11], digest=digest_of(raw), expires_at=expires_at
    )
    audit(
        actor,
        "api_token.create",
        token,
        after={"name": name, "prefix": token.prefix, "user": owner.pk},
    )
    return token, raw


@transaction.atomic
def token_revoke(actor: User, *, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens; an administrator may revoke anyone's."""
    tokens = ApiToken.objects.select_for_update()
    if not has_perm(actor, Perm.ADMINISTRATOR):
        tokens = tokens.filter(user=actor)
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("No such token."), field="token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit(actor, "api_token.revoke", token, after={"user": token.user_id})
    return token


def token_in_use(raw: str) -> ApiToken | None:
    """The presented token with the user it acts as, if it is usable: known, not revoked or
    expired, its user active and still holding *API access*. Records when it was last used."""
    if not raw.startswith(PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .annotate(config_version=version_subquery())
        .filter(digest=digest_of(raw))
        .first()
    )
    now = timezone.now()
    if token is None or not token.is_usable(now):
        return None
    user = token.user
    # Read with the token, as a page's user is read with its session: no query of its own.
    user.config_version = token.config_version  # type: ignore[attr-defined]
    if not user.is_active or not has_perm(user, Perm.API_ACCESS):
        return None
    if token.last_used_at is None or now - token.last_used_at > USE_RECORDED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_rate_count(token_id: int, now: float) -> tuple[int, float]:
    """Count one more request of the token in the current minute: the minute's count so far
    and the seconds left of it. One statement, atomic between the server's processes; the
    token's earlier minutes are dropped as a new one starts."""
    period = int(now // RATE_PERIOD) * RATE_PERIOD
    table = ApiRateWindow._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A count lost in a crash is harmless: no disk flush for it on every request,
            # which had made a read wait for the write-ahead log now and then.
            cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(
            f"INSERT INTO {table} (token_id, period, count) VALUES (%s, %s, 1) "
            f"ON CONFLICT (token_id, period) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [token_id, period],
        )
        (count,) = cursor.fetchone()
    if count == 1:
        ApiRateWindow.objects.filter(token_id=token_id, period__lt=period).delete()
    return count, period + RATE_PERIOD - now
