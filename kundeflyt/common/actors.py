"""Who did it: every change names a user or a named process (DESIGN.md rule 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from kundeflyt.accounts.models import User


@dataclass(frozen=True)
class Process:
    """A process acting on its own: the importer, the presenter, a retention job, an API client."""

    name: str

    def __str__(self) -> str:
        return self.name


PRESENTER = Process("presenter")
DEMO = Process("demo")


def actor_fields(actor: User | Process, prefix: str = "actor") -> dict[str, Any]:
    """The column values that record ``actor`` on a row with ``<prefix>_user``/``_process``."""
    if isinstance(actor, Process):
        return {f"{prefix}_user": None, f"{prefix}_process": actor.name}
    return {f"{prefix}_user": actor, f"{prefix}_process": ""}


class ActorMixin(models.Model):
    """A row that records who made it: a user, or a named process."""

    actor_user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_process = models.CharField(_("process"), max_length=40, blank=True)

    class Meta:
        abstract = True

    @property
    def actor_display(self) -> str:
        if self.actor_user_id:
            user = self.actor_user
            return user.get_full_name() or user.get_username() if user else ""
        return str(_("process: %(name)s") % {"name": self.actor_process})
