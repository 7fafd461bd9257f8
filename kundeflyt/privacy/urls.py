from django.urls import path

from kundeflyt.privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.privacy_index, name="index"),
    path("requests/", views.requests, name="requests"),
    path("retention/", views.retention, name="retention"),
    path("register/", views.register, name="register"),
    path("register/load/", views.register_file, name="register_upload"),
    path("retention/change/", views.retention_change, name="retention_change"),
    path("record/<int:data_owner_id>/", views.record, name="record"),
    path("customers/<int:customer_id>/", views.person, name="person"),
    path("customers/<int:customer_id>/access/", views.person_access, name="access"),
    path("customers/<int:customer_id>/block/", views.person_object, name="object"),
    path("customers/<int:customer_id>/erase/", views.person_erase, name="erase"),
]
