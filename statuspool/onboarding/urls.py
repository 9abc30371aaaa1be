"""Sign-up (mounted at the site root, beside the login of statuspool.accounts.urls)."""

from django.urls import path

from statuspool.onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
]
