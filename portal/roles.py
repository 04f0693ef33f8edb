"""Roles: groups whose permissions are declared in settings (``ROLES``) and kept in step after every migrate.

A role is a list of ``app_label.codename`` permissions; ``app_label.view_*`` stands for every view permission of
the app, so a model added later is covered without a new migration. Declaring roles in one place replaces data
migrations that each had to create permissions early (Django creates them after all migrations) and grant them.
The group's permissions are set to exactly the declared ones: a grant made by hand in the admin is undone at the
next migrate, so the declaration stays the one truth about what the role may do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings


def _declared(permissions: Iterable[str], permission_model: Any) -> Any:
    query = permission_model.objects.none()
    for entry in permissions:
        app_label, _, codename = entry.partition(".")
        if codename.endswith("*"):
            query |= permission_model.objects.filter(
                content_type__app_label=app_label, codename__startswith=codename.removesuffix("*")
            )
        else:
            query |= permission_model.objects.filter(content_type__app_label=app_label, codename=codename)
    return query


def roles_sync(**kwargs: Any) -> None:
    """post_migrate receiver: every declared role exists with exactly its permissions.

    Runs after each app's post_migrate (permissions of the apps migrated so far exist); the last run sees them all.
    """
    from django.contrib.auth.models import Group, Permission

    for name, permissions in getattr(settings, "ROLES", {}).items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(_declared(permissions, Permission))
