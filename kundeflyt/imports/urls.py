"""Customer files in: upload, map, preview, run, follow, undo."""

from django.urls import URLPattern

app_name = "imports"

urlpatterns: list[URLPattern] = []
