from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401 - registers the deploy checks
        from portal.roles import roles_sync

        post_migrate.connect(roles_sync, dispatch_uid="portal.roles_sync")
