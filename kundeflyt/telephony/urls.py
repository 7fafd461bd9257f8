from django.urls import path

from kundeflyt.telephony import views

app_name = "telephony"

urlpatterns = [
    path("sms/", views.sms_compose, name="sms_compose"),
    path("sms/measure/", views.sms_measure, name="sms_measure"),
    path("sms/send/", views.sms_send, name="sms_send"),
    path("sms/list/", views.sms_list, name="sms_list"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/reply/", views.outbox_reply, name="outbox_reply"),
    path("hooks/<int:account_id>/<slug:kind>/", views.hook, name="hook"),
]
