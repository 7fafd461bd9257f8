from django.urls import path

from kundeflyt.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.subscriptions, name="subscriptions"),
    path("new/", views.subscription_new, name="subscription_new"),
    path("<int:pk>/", views.deliveries, name="deliveries"),
    path("<int:pk>/enable/", views.enable, name="enable"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("messages/<int:pk>/redeliver/", views.redeliver, name="redeliver"),
]
