from django.urls import path

from kundeflyt.handling.views import customers, details, lists, work

app_name = "handling"

urlpatterns = [
    path("customers/", customers.customers_index, name="customers_index"),
    path("crms/<int:crm_id>/customers/", customers.crm_customers, name="crm_customers"),
    path(
        "crms/<int:crm_id>/customers/count/",
        customers.crm_customers_count,
        name="crm_customers_count",
    ),
    path("crms/<int:crm_id>/selections/", customers.crm_selection_save, name="crm_selection_save"),
    path("crms/<int:crm_id>/give-out/", customers.crm_give_out, name="crm_give_out"),
    path(
        "campaigns/<int:campaign_id>/customers/new/",
        customers.customer_new,
        name="customer_new",
    ),
    path("", work.my_work, name="my_work"),
    path("work/overdue/", work.my_overdue, name="my_overdue"),
    path("work/start/", work.work_start, name="work_start"),
    path("work/next/", work.work_next, name="work_next"),
    path("work/stop/", work.work_stop, name="work_stop"),
    path("screen/", work.screen, name="screen"),
    path("screen/renew/", work.screen_renew, name="screen_renew"),
    path("screen/outcome-fields/", work.outcome_fields, name="outcome_fields"),
    path("screen/save/", work.outcome_save, name="outcome_save"),
    path("screen/dont-call/", work.customer_object, name="customer_object"),
    path("screen/side-panel/", work.side_panel, name="side_panel"),
    path("search/", lists.search, name="search"),
    path("search/bulk/", lists.search_bulk, name="search_bulk"),
    path("customers/<int:customer_id>/", details.customer_details, name="customer_details"),
    path(
        "customers/<int:customer_id>/presence/", details.customer_presence, name="customer_presence"
    ),
    path("customers/<int:customer_id>/fields/", details.customer_fields, name="customer_fields"),
    path(
        "customers/<int:customer_id>/fields/<slug:key>/",
        details.customer_field,
        name="customer_field",
    ),
    path(
        "customers/<int:customer_id>/follow-up/",
        details.customer_follow_up,
        name="customer_follow_up",
    ),
    path("customers/<int:customer_id>/move/", details.customer_move, name="customer_move"),
    path(
        "customers/<int:customer_id>/contact-basis/",
        details.customer_contact_basis,
        name="customer_contact_basis",
    ),
    path(
        "customers/<int:customer_id>/marketing-consent/",
        details.customer_marketing_consent,
        name="customer_marketing_consent",
    ),
    path(
        "customers/<int:customer_id>/withdraw-correction/",
        details.correction_withdraw,
        name="correction_withdraw",
    ),
    path(
        "events/<int:event_id>/send-for-correction/",
        details.event_send_for_correction,
        name="event_send_for_correction",
    ),
    path("events/<int:event_id>/correct/", details.event_correct, name="event_correct"),
    path(
        "events/<int:event_id>/report-facts/", details.event_report_facts, name="event_report_facts"
    ),
    path("selected/", lists.selected_customers, name="selected_customers"),
    path("selected/<int:customer_id>/release/", lists.selection_release, name="selection_release"),
    path("customers/<int:customer_id>/take/", work.customer_take, name="customer_take"),
    path(
        "campaigns/<int:campaign_id>/customers/",
        lists.campaign_customers,
        name="campaign_customers",
    ),
    path("campaigns/<int:campaign_id>/bulk/", lists.campaign_bulk, name="campaign_bulk"),
    path(
        "campaigns/<int:campaign_id>/reassign-follow-ups/",
        lists.campaign_follow_ups_reassign,
        name="campaign_follow_ups_reassign",
    ),
]
