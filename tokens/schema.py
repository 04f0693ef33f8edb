"""How drf-spectacular documents BearerTokenAuthentication in /api/schema/."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tokens.auth.BearerTokenAuthentication"
    name = "portalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "mdi_ token",
            "description": "A portal token issued by an administrator (admin or `manage.py issue_token`).",
        }
