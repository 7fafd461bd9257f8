"""The configuration cache. What administrators set up (flows, campaigns, CRMs, webhooks,
users and their rights) is read on every agent request and changes seldom, so each process
keeps what it read, keyed by the configuration version.

The version is one database row (``ConfigVersion``). Every change of configuration replaces
its number with a random one in the change's own transaction (``config_changed``, called by
the signals of ``connect_signals`` below and by anything that writes configuration without
them, such as ``QuerySet.update``). A request reads the version together with its user
(``PeopleBackend`` annotates it), so checking costs no query. An entry is served only to a
request that read the same version, and it was loaded after that version was read, so it is
never older than what that request may see; random numbers (not a counter) mean that a
rolled-back change can never be mistaken for a later one. Without the row (a flushed test
database) nothing is cached.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.db import models
from django.db.models import Subquery

from kundeflyt.common.models import ConfigVersion

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)

_ROW = 1
_entries: dict[Hashable, tuple[int, Any]] = {}
_lock = threading.Lock()


def version_subquery() -> Subquery:
    """The version, to annotate onto a query that is made anyway."""
    return Subquery(ConfigVersion.objects.filter(pk=_ROW).values("n")[:1])


def config_version(actor: object = None) -> int | None:
    """The version: the one read with ``actor`` if it was, else from the database."""
    known = getattr(actor, "config_version", None)
    if known is not None:
        return int(known)
    return ConfigVersion.objects.filter(pk=_ROW).values_list("n", flat=True).first()


def config_changed() -> None:
    """Configuration changed in this transaction: every process reads it again once the
    transaction commits. Also forgets this process's entries at once, for the rest of the
    request that made the change."""
    number = secrets.randbits(62)
    if not ConfigVersion.objects.filter(pk=_ROW).update(n=number):
        ConfigVersion.objects.get_or_create(pk=_ROW, defaults={"n": number})
    forget()


def cached(key: Hashable, version: int | None, load: Callable[[], T]) -> T:
    """``load()``'s value for ``key`` at ``version``, read once per process and version.
    Values are shared between requests and threads: never change them."""
    if version is None:
        return load()
    entry = _entries.get(key)
    if entry is not None and entry[0] == version:
        value: T = entry[1]
        return value
    value = load()
    with _lock:
        _entries[key] = (version, value)
    return value


def forget() -> None:
    """Drop every entry of this process (tests start each case with none)."""
    with _lock:
        _entries.clear()


# --- What counts as configuration --------------------------------------------------------


class ConfigQuerySet(models.QuerySet[M, M]):
    """The queryset of configuration models: writes that send no signals change the version
    too (deletes send them)."""

    def update(self, **kwargs: Any) -> int:
        changed = super().update(**kwargs)
        if changed:
            config_changed()
        return changed

    def bulk_create(self, *args: Any, **kwargs: Any) -> Any:
        made = super().bulk_create(*args, **kwargs)
        config_changed()
        return made

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        changed = super().bulk_update(*args, **kwargs)
        config_changed()
        return changed


ConfigManager = models.Manager.from_queryset(ConfigQuerySet)


# Models whose rows are configuration: a save or delete of one, or a change of a many-to-many
# between two of them, changes the version. Rows written per customer or per call never are.
CONFIG_MODELS = (
    "accounts.User",
    "accounts.Team",
    "auth.Group",
    "auth.Permission",
    "crm.DataOwner",
    "crm.CRM",
    "crm.FieldDefinition",
    "flows.Flow",
    "flows.State",
    "flows.Outcome",
    "campaigns.Campaign",
    "campaigns.Segment",
    "campaigns.CampaignLink",
    "campaigns.OutcomeOption",
    "campaigns.ExtraField",
    "campaigns.Product",
    "webhooks.Subscription",
)

# Saves that touch only these fields change no configuration (a login stamps last_login).
NOT_CONFIG_FIELDS = frozenset({"last_login"})


def connect_signals() -> None:
    from django.apps import apps
    from django.db.models.signals import m2m_changed, post_delete, post_save

    models = {apps.get_model(label) for label in CONFIG_MODELS}

    def saved(sender: Any, update_fields: Any = None, raw: bool = False, **kwargs: Any) -> None:
        if raw or (update_fields and set(update_fields) <= NOT_CONFIG_FIELDS):
            return
        config_changed()

    def deleted(sender: Any, **kwargs: Any) -> None:
        config_changed()

    def related(sender: Any, instance: Any, action: str, model: Any, **kwargs: Any) -> None:
        if action.startswith("post_") and type(instance) in models and model in models:
            config_changed()

    for model in models:
        label = model._meta.label
        post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"config-save-{label}")
        post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"config-del-{label}")
    m2m_changed.connect(related, weak=False, dispatch_uid="config-related")
