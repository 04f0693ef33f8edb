from django.urls import path

from imports import views

urlpatterns = [
    path("imports", views.ImportListCreate.as_view(), name="imports"),
    path("imports/<str:import_id>", views.ImportDetail.as_view(), name="import-detail"),
]
