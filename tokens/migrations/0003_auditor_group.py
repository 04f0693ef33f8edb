"""The "auditor" group: staff who may look at instances, licenses and tokens but change nothing."""

from django.db import migrations

AUDITOR_GROUP = "auditor"
VIEW_PERMISSIONS = ["view_instance", "view_license", "view_licensechange", "view_token", "view_tokenevent"]


def create_auditor_group(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create ours now so the
    # group can hold them on a fresh database.
    from django.contrib.auth.management import create_permissions

    tokens_config = apps.get_app_config("tokens")
    tokens_config.models_module = True
    create_permissions(tokens_config, apps=apps, verbosity=0)
    tokens_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=AUDITOR_GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="tokens", codename__in=VIEW_PERMISSIONS)
    )


def remove_auditor_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=AUDITOR_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tokens", "0002_revoke_permission"),
    ]

    operations = [migrations.RunPython(create_auditor_group, remove_auditor_group)]
