"""Customers and registrations out, as CSV and XLSX."""

from django.urls import URLPattern

app_name = "exports"

urlpatterns: list[URLPattern] = []
