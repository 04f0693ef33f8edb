from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0002_audit_day'),
    ]

    operations = [
        migrations.AddField(
            model_name='importrecord',
            name='attachments',
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
