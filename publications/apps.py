from django.apps import AppConfig


class PublicationsConfig(AppConfig):
    name = "publications"
    label = "publications"
    verbose_name = "Publications"

    def ready(self) -> None:
        from portal.sweeps import sweep_register
        from publications.services import publication_sweep_ensure

        sweep_register(ensure=publication_sweep_ensure)
