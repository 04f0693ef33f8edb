"""The versioned API: every app's endpoints under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("tokens.api_urls")),
    path("", include("imports.api_urls")),
    path("", include("publications.api_urls")),
]
