"""Customers and registrations out, as CSV and XLSX."""

from django.urls import path

from kundeflyt.exports import views

app_name = "exports"

urlpatterns = [
    path("", views.index, name="index"),
    path("customers/", views.customers, name="customers"),
    path("registrations/", views.registrations, name="registrations"),
    path("<int:pk>/", views.export, name="export"),
    path("<int:pk>/download", views.download, name="download"),
]
