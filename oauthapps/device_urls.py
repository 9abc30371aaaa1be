"""The pages a person opens from a device's prompt, mounted at /device (short enough to type)."""

from django.urls import path

from oauthapps.views.device import device_consent, device_entry

app_name = "device"

urlpatterns = [
    path("device", device_entry, name="entry"),
    path("device/<int:pk>", device_consent, name="consent"),
]
