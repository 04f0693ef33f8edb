from django.urls import path

from tokens.views import TokenView

urlpatterns = [
    path("token", TokenView.as_view(), name="api-token"),
]
