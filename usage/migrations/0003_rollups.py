# Usage rollups (issue 13): per credential and hour/day counts, the hour's endpoints and clients;
# the OAuth grant of each request-log row. Written by the request log's flush (usage.rollups).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_failure_counter'),
        ('usage', '0002_requestlog_entry_id'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailyUsage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('credential_kind', models.CharField(max_length=24)),
                ('credential_id', models.BigIntegerField()),
                ('credential_label', models.CharField(blank=True, max_length=200)),
                ('start', models.DateTimeField()),
                ('requests', models.PositiveIntegerField(default=0)),
                ('ok', models.PositiveIntegerField(default=0)),
                ('client_errors', models.PositiveIntegerField(default=0)),
                ('rate_limited', models.PositiveIntegerField(default=0)),
                ('server_errors', models.PositiveIntegerField(default=0)),
                ('reads', models.PositiveIntegerField(default=0)),
                ('writes', models.PositiveIntegerField(default=0)),
                ('latency', models.JSONField(default=list)),
                ('read_peak', models.PositiveIntegerField(default=0)),
                ('write_peak', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='HourlyClient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('credential_kind', models.CharField(max_length=24)),
                ('credential_id', models.BigIntegerField()),
                ('start', models.DateTimeField()),
                ('ip', models.CharField(blank=True, max_length=45)),
                ('country', models.CharField(blank=True, max_length=2)),
                ('requests', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='HourlyEndpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('credential_kind', models.CharField(max_length=24)),
                ('credential_id', models.BigIntegerField()),
                ('start', models.DateTimeField()),
                ('method', models.CharField(max_length=10)),
                ('path', models.CharField(max_length=500)),
                ('requests', models.PositiveIntegerField(default=0)),
                ('errors', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='HourlyUsage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('credential_kind', models.CharField(max_length=24)),
                ('credential_id', models.BigIntegerField()),
                ('credential_label', models.CharField(blank=True, max_length=200)),
                ('start', models.DateTimeField()),
                ('requests', models.PositiveIntegerField(default=0)),
                ('ok', models.PositiveIntegerField(default=0)),
                ('client_errors', models.PositiveIntegerField(default=0)),
                ('rate_limited', models.PositiveIntegerField(default=0)),
                ('server_errors', models.PositiveIntegerField(default=0)),
                ('reads', models.PositiveIntegerField(default=0)),
                ('writes', models.PositiveIntegerField(default=0)),
                ('latency', models.JSONField(default=list)),
                ('read_peak', models.PositiveIntegerField(default=0)),
                ('write_peak', models.PositiveIntegerField(default=0)),
                ('minute_reads', models.JSONField(default=list)),
                ('minute_writes', models.JSONField(default=list)),
            ],
        ),
        migrations.AddField(
            model_name='requestlog',
            name='authorization_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='requestlog',
            index=models.Index(condition=models.Q(('authorization_id__isnull', False)), fields=['authorization_id', '-occurred_at'], name='requestlog_authorization_time'),
        ),
        migrations.AddField(
            model_name='dailyusage',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.account'),
        ),
        migrations.AddConstraint(
            model_name='hourlyclient',
            constraint=models.UniqueConstraint(fields=('credential_kind', 'credential_id', 'start', 'ip', 'country'), name='hourlyclient_key'),
        ),
        migrations.AddConstraint(
            model_name='hourlyendpoint',
            constraint=models.UniqueConstraint(fields=('credential_kind', 'credential_id', 'start', 'method', 'path'), name='hourlyendpoint_key'),
        ),
        migrations.AddField(
            model_name='hourlyusage',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.account'),
        ),
        migrations.AddIndex(
            model_name='dailyusage',
            index=models.Index(fields=['account', 'start'], name='dailyusage_account_start'),
        ),
        migrations.AddConstraint(
            model_name='dailyusage',
            constraint=models.UniqueConstraint(fields=('credential_kind', 'credential_id', 'start'), name='dailyusage_key'),
        ),
        migrations.AddIndex(
            model_name='hourlyusage',
            index=models.Index(fields=['account', 'start'], name='hourlyusage_account_start'),
        ),
        migrations.AddConstraint(
            model_name='hourlyusage',
            constraint=models.UniqueConstraint(fields=('credential_kind', 'credential_id', 'start'), name='hourlyusage_key'),
        ),
    ]
