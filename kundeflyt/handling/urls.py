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
    path("search/", views.search, name="search"),
    path("customers/<int:customer_id>/", views.customer_details, name="customer_details"),
    path(
        "customers/<int:customer_id>/presence/", views.customer_presence, name="customer_presence"
    ),
    path("customers/<int:customer_id>/fields/", views.customer_fields, name="customer_fields"),
    path(
        "customers/<int:customer_id>/fields/<slug:key>/",
        views.customer_field,
        name="customer_field",
    ),
    path(
        "customers/<int:customer_id>/follow-up/",
        views.customer_follow_up,
        name="customer_follow_up",
    ),
    path("customers/<int:customer_id>/move/", views.customer_move, name="customer_move"),
    path(
        "customers/<int:customer_id>/withdraw-correction/",
        views.correction_withdraw,
        name="correction_withdraw",
    ),
    path(
        "events/<int:event_id>/send-for-correction/",
        views.event_send_for_correction,
        name="event_send_for_correction",
    ),
    path("events/<int:event_id>/correct/", views.event_correct, name="event_correct"),
    path(
        "events/<int:event_id>/report-facts/", views.event_report_facts, name="event_report_facts"
    ),
    path("selected/", views.selected_customers, name="selected_customers"),
    path("selected/<int:customer_id>/release/", views.selection_release, name="selection_release"),
    path("customers/<int:customer_id>/take/", views.customer_take, name="customer_take"),
    path(
        "campaigns/<int:campaign_id>/customers/",
        views.campaign_customers,
        name="campaign_customers",
    ),
]
