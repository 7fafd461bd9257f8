"""The account page's API tokens (the API itself is ``kundeflyt.api.api``)."""

from django.urls import path

from kundeflyt.api import views

app_name = "api_tokens"

urlpatterns = [
    path("", views.tokens, name="tokens"),
    path("new/", views.token_new, name="token_new"),
    path("integration/new/", views.integration_token_new, name="integration_token_new"),
    path("<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
