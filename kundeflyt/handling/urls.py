from django.urls import path

from kundeflyt.handling import views

app_name = "handling"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("work/start/", views.work_start, name="work_start"),
    path("work/next/", views.work_next, name="work_next"),
    path("work/stop/", views.work_stop, name="work_stop"),
    path("screen/", views.screen, name="screen"),
    path("screen/renew/", views.screen_renew, name="screen_renew"),
    path("screen/outcome-fields/", views.outcome_fields, name="outcome_fields"),
    path("screen/save/", views.outcome_save, name="outcome_save"),
    path("screen/card/<slug:key>/", views.card_field, name="card_field"),
    path("search/", views.search, name="search"),
    path("customers/<int:customer_id>/take/", views.customer_take, name="customer_take"),
    path(
        "campaigns/<int:campaign_id>/customers/",
        views.campaign_customers,
        name="campaign_customers",
    ),
]
