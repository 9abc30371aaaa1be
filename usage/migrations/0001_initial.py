# RequestLog moved here from the audit app (issue 9) with its rows: the model is added to this
# app's state on the existing table (audit_requestlog), then the table is renamed, and the
# content type follows so admin history and permissions keep pointing at it.
import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="audit", new="usage"):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label=new, model='requestlog').exists():
        ContentType.objects.using(db).filter(app_label=old, model='requestlog').update(app_label=new)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, old="usage", new="audit")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('audit', '0003_requestlog_moved_to_usage'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='RequestLog',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('occurred_at', models.DateTimeField(db_index=True)),
                        ('credential_kind', models.CharField(max_length=16)),
                        ('credential_id', models.BigIntegerField()),
                        ('credential_label', models.CharField(blank=True, max_length=200)),
                        ('method', models.CharField(max_length=10)),
                        ('path', models.CharField(max_length=500)),
                        ('status', models.PositiveSmallIntegerField()),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('country', models.CharField(blank=True, max_length=2)),
                        ('user_agent', models.CharField(blank=True, max_length=400)),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                        ('account', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.account')),
                    ],
                    options={
                        'ordering': ['-occurred_at', '-id'],
                        'db_table': 'audit_requestlog',
                        'indexes': [
                            models.Index(fields=['credential_kind', 'credential_id', '-occurred_at', '-id'], name='requestlog_credential_time'),
                            models.Index(fields=['account', '-occurred_at'], name='requestlog_account_time'),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name='requestlog', table=None),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
