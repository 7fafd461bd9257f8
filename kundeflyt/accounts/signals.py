"""``User.two_factor`` follows the user's TOTP devices, however they change: through the
services, or when an administrator deletes a lost phone's device in the admin. A login starts
the idle clock."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models import Exists, OuterRef
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from kundeflyt.accounts.middleware import LAST_ACTIVITY
from kundeflyt.accounts.models import User


def two_factor_refresh(user_id: int) -> None:
    confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    User.objects.filter(pk=user_id).update(two_factor=Exists(confirmed))


@receiver(post_save, sender=TOTPDevice)
@receiver(post_delete, sender=TOTPDevice)
def _totp_device_changed(sender: type[TOTPDevice], instance: TOTPDevice, **kwargs: Any) -> None:
    two_factor_refresh(instance.user_id)


@receiver(user_logged_in)
def _login_is_activity(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """The idle clock starts at the login, whatever the session held before."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY] = int(time.time())
