from django.urls import path

from publications import views

urlpatterns = [
    path("publications", views.PublicationListCreate.as_view(), name="publications"),
    path("publications/<str:publication_id>", views.PublicationDetail.as_view(), name="publication-detail"),
]
