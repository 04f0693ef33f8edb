from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Instances, licenses and tokens"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme of BearerTokenAuthentication with drf-spectacular.
        from tokens import schema  # noqa: F401
