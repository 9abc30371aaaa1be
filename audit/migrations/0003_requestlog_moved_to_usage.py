# RequestLog moved to the usage app (issue 9). State only: the table is kept, with its rows, and
# renamed by usage.0001_initial.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_chain_requestlog'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='RequestLog')],
            database_operations=[],
        ),
    ]
