from django.urls import path

from kundeflyt.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("phone/", views.phone_set, name="phone_set"),
    path("password/", views.PasswordChange.as_view(), name="password_change"),
    path("two-factor/", views.two_factor_enrol, name="two_factor_enrol"),
    path("two-factor/code/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("two-factor/off/", views.two_factor_off, name="two_factor_off"),
    path("log-out-everywhere/", views.log_out_everywhere, name="log_out_everywhere"),
]
