from django.urls import path

from kundeflyt.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:report>/", views.report, name="report"),
    path("<slug:report>/<slug:table>.<slug:fmt>", views.export, name="export"),
]
