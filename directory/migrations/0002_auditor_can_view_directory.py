"""The auditor group (tokens 0003) may read the Confluence directory: users, spaces, pages, page activity and sync runs."""

from django.db import migrations


def grant(apps, schema_editor):
    # Permissions are created after all migrations (post_migrate); create this app's now so the group can hold them.
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("directory")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="auditor")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="directory", codename__startswith="view_"))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name="auditor"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="directory"))


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0001_initial"),
        ("tokens", "0003_auditor_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
