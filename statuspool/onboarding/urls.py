"""Sign-up (mounted at the site root, beside the login of statuspool.accounts.urls)."""

from django.urls import path

from statuspool.onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/confirm/<str:token>/", views.signup_confirm_view, name="signup_confirm"),
]
