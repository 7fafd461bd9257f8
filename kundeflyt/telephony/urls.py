from django.urls import path

from kundeflyt.telephony import views

app_name = "telephony"

urlpatterns = [
    path("sms/", views.sms_compose, name="sms_compose"),
    path("sms/measure/", views.sms_measure, name="sms_measure"),
    path("sms/send/", views.sms_send, name="sms_send"),
    path("sms/list/", views.sms_list, name="sms_list"),
    path("calls/start/", views.call_start, name="call_start"),
    path("calls/panel/", views.call_panel, name="call_panel"),
    path("calls/console/", views.call_console, name="call_console"),
    path("calls/list/", views.call_list, name="call_list"),
    path("calls/incoming/", views.calls_incoming, name="calls_incoming"),
    path("bulk/", views.bulk_new, name="bulk_new"),
    path("bulk/<int:pk>/", views.bulk_batch, name="bulk_batch"),
    path("bulk/<int:pk>/stop/", views.bulk_stop, name="bulk_stop"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/reply/", views.outbox_reply, name="outbox_reply"),
    path("hooks/<int:account_id>/<slug:kind>/", views.hook, name="hook"),
]
