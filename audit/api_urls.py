from django.urls import path

from audit.api import AuditLogList

urlpatterns = [
    path("audit-log", AuditLogList.as_view(), name="api-audit-log"),
]
