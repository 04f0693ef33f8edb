"""The auditor role is declared once (settings.ROLES) and exists with exactly its permissions after migrate."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def auditor_permissions() -> set[str]:
    group = Group.objects.get(name="auditor")
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_auditor_may_view_instances_tokens_imports_and_the_directory_and_change_nothing() -> None:
    granted = auditor_permissions()
    assert {"tokens.view_instance", "tokens.view_token", "imports.view_importrecord", "directory.view_page"} <= granted
    assert {"directory.view_syncrun", "directory.view_confluenceuser"} <= granted
    assert all(codename.split(".")[1].startswith("view_") for codename in granted)


def test_a_hand_made_grant_is_undone_and_a_lost_one_restored_by_the_next_migrate() -> None:
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name="auditor")
    group.permissions.remove(Permission.objects.get(codename="view_token"))
    group.permissions.add(Permission.objects.get(codename="revoke_token"))

    call_command("migrate", verbosity=0)

    granted = auditor_permissions()
    assert "tokens.view_token" in granted
    assert "tokens.revoke_token" not in granted
