from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views
from portal.api import UnknownEndpoint

admin.site.site_header = settings.PORTAL_NAME
admin.site.site_title = settings.PORTAL_NAME
admin.site.index_title = "Administration"

# The API first: its requests are the most frequent, and Django tries the patterns in order. No two prefixes
# overlap, so the order changes nothing else (the catch-all for unknown API paths stays after the API).
urlpatterns = [
    path("api/v1/", include("portal.api_urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", UnknownEndpoint.as_view()),
]

handler500 = "portal.api.server_error"
