"""The dashboard on the admin's start page, as an inclusion tag.

A tag rather than a custom AdminSite: the admin index stays Django's own view (and every app keeps registering on
`admin.site`), and templates/admin/index.html only adds this tag above the app list.
"""

from __future__ import annotations

from typing import Any

from django import template

from portal.dashboard import OUTCOMES, instance_dashboards

register = template.Library()


@register.inclusion_tag("admin/portal/dashboard.html", takes_context=True)
def portal_dashboard(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    # What a user may see of the dashboard follows what they may see in the admin itself.
    can_see_instances = bool(user and user.has_perm("tokens.view_instance"))
    can_see_imports = bool(user and user.has_perm("imports.view_importrecord"))
    can_see_syncs = bool(user and user.has_perm("directory.view_syncrun"))
    return {
        "dashboards": instance_dashboards() if can_see_instances else None,
        "can_see_imports": can_see_imports,
        "can_see_syncs": can_see_syncs,
        "can_run_syncs": bool(user and user.has_perm("directory.add_syncrun")),
        "outcomes": OUTCOMES,
    }


@register.simple_tag
def admin_site_header() -> str:
    """The admin's header, for pages rendered outside an admin view (the 403 page)."""
    from django.contrib import admin

    return str(admin.site.site_header)
