from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kundeflyt.accounts.forms import PasswordResetForm
from kundeflyt.accounts.views import language_set
from kundeflyt.api.api import api
from kundeflyt.common.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # "Forgot your password?": a link by e-mail (Django's views, our form and templates).
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(form_class=PasswordResetForm),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("language/", language_set, name="set_language"),
    path("account/api-tokens/", include("kundeflyt.api.urls")),
    path("account/webhooks/", include("kundeflyt.webhooks.urls")),
    path("account/", include("kundeflyt.accounts.urls")),
    path("admin/", admin.site.urls),
    path("reports/", include("kundeflyt.reports.urls")),
    path("imports/", include("kundeflyt.imports.urls")),
    path("exports/", include("kundeflyt.exports.urls")),
    path("privacy/", include("kundeflyt.privacy.urls")),
    path("telephony/", include("kundeflyt.telephony.urls")),
    path("api/v1/", api.urls),
    path("", include("kundeflyt.handling.urls")),
]
