"""Customer files in: upload (or throw away), map, preview, run, follow, undo."""

from django.urls import path

from kundeflyt.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("crm/<int:crm_id>/", views.crm_imports, name="crm"),
    path("crm/<int:crm_id>/upload/", views.upload, name="upload"),
    path("<int:batch_id>/", views.batch_page, name="batch"),
    path("<int:batch_id>/sheet/", views.sheet_choose, name="sheet"),
    path("<int:batch_id>/preview/", views.preview, name="preview"),
    path("<int:batch_id>/start/", views.start, name="start"),
    path("<int:batch_id>/progress/", views.progress, name="progress"),
    path("<int:batch_id>/cancel/", views.cancel, name="cancel"),
    path("<int:batch_id>/discard/", views.discard, name="discard"),
    path("<int:batch_id>/undo/", views.undo, name="undo"),
    path("<int:batch_id>/rejected/", views.rejected, name="rejected"),
]
