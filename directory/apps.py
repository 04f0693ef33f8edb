from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Confluence directory"

    def ready(self) -> None:
        from directory.services import sync_sweep_ensure
        from portal.sweeps import sweep_register

        sweep_register(ensure=sync_sweep_ensure)
