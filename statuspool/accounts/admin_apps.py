"""Django's admin app with StatusPool's site (statuspool/accounts/admin_site.py) as ``admin.site``.

A module of its own because app configs are imported before models can be.
"""

from django.contrib.admin.apps import AdminConfig


class StatusPoolAdminConfig(AdminConfig):
    default_site = "statuspool.accounts.admin_site.StatusPoolAdminSite"
