from django.apps import AppConfig


class PublicationsConfig(AppConfig):
    name = "publications"
    label = "publications"
    verbose_name = "Publications"
