from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kundeflyt.accounts.admin_scope import OwnerScopedAdmin, staff_user
from kundeflyt.campaigns.admin import CampaignAdmin
from kundeflyt.campaigns.senders import caller_number_clean
from kundeflyt.common.admin import CompactTabularInline
from kundeflyt.common.errors import DomainError
from kundeflyt.telephony import services
from kundeflyt.telephony.credentials import check_variable
from kundeflyt.telephony.models import Backend, ProviderAccount, SmsTemplate


class ProviderAccountForm(forms.ModelForm[ProviderAccount]):
    """The secret is written, never shown: an empty field keeps the stored one."""

    secret = forms.CharField(
        label=_("API password or auth token"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored sealed, and never shown again. Leave empty to keep the stored one."),
    )

    class Meta:
        model = ProviderAccount
        fields = ("data_owner", "backend", "username", "secret", "secret_variable", "forward_to")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["secret_variable"] = check_variable(data.get("secret_variable", ""))
        except DomainError as error:
            raise ValidationError({"secret_variable": error.message}) from None
        try:
            data["forward_to"] = caller_number_clean(data.get("forward_to", ""), field="forward_to")
        except DomainError as error:
            raise ValidationError({"forward_to": error.message}) from None
        stored = self.instance.sealed_secret if self.instance.pk else ""
        if data.get("backend") not in (None, Backend.CONSOLE) and not (
            data.get("secret") or data.get("secret_variable") or stored
        ):
            raise ValidationError(
                {"secret": _("Give the provider's secret, or the variable that holds it.")}
            )
        return data


@admin.register(ProviderAccount)
class ProviderAccountAdmin(OwnerScopedAdmin):
    """A data owner's telephony and SMS provider. Without one, its SMS go to the console."""

    form = ProviderAccountForm
    list_display = ("data_owner", "backend", "username", "has_secret", "updated_at")
    list_select_related = ("data_owner",)
    search_fields = ("data_owner__name", "username")
    readonly_fields = ("callback_addresses",)

    @admin.display(description=_("secret stored"), boolean=True)
    def has_secret(self, account: ProviderAccount) -> bool:
        return bool(account.sealed_secret or account.secret_variable)

    @admin.display(description=_("callback addresses"))
    def callback_addresses(self, account: ProviderAccount) -> str:
        if account.pk is None:
            return str(_("Shown once the provider is saved."))
        from kundeflyt.telephony.backends import BACKENDS

        backend = BACKENDS[account.backend](account, "")
        url = backend.callback_url("sms-in")
        return url or str(_("Set PUBLIC_BASE_URL to receive callbacks."))

    def save_model(
        self,
        request: HttpRequest,
        obj: ProviderAccount,
        form: forms.ModelForm[ProviderAccount],
        change: bool,
    ) -> None:
        services.provider_account_save(
            staff_user(request),
            account=obj,
            secret=form.cleaned_data.get("secret", ""),
            secret_variable=form.cleaned_data.get("secret_variable", ""),
        )


class SmsTemplateInline(CompactTabularInline):
    """A campaign's SMS templates are part of the campaign: whoever may change it, may change
    them."""

    model = SmsTemplate
    fields = ("position", "name", "purpose", "text")
    extra = 0

    def _campaign_perm(self, request: HttpRequest, action: str) -> bool:
        return request.user.has_perm(f"campaigns.{action}_campaign")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._campaign_perm(request, "view")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._campaign_perm(request, "change")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._campaign_perm(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._campaign_perm(request, "change")


# The campaign's own page lists its templates (this app builds on campaigns, not the reverse).
CampaignAdmin.inlines = (*CampaignAdmin.inlines, SmsTemplateInline)  # type: ignore[assignment]
