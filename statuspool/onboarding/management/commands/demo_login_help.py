import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from statuspool.accounts.models import TOTPDevice, User
from statuspool.onboarding import demo


def _login_url() -> str:
    return settings.SITE_URL + reverse(settings.LOGIN_URL)


class Command(BaseCommand):
    help = (
        "Print how to log in as the demo owner made by `manage.py seed_demo`: the URL, email, "
        "password, and for two-factor authentication the TOTP secret, an otpauth:// URI for an "
        "authenticator app and the code valid right now. Fails when the demo data is missing."
    )

    def handle(self, *args, **options):
        user = User.objects.filter(email__iexact=demo.DEMO_OWNER_EMAIL).first()
        if user is None or demo.demo_account() is None:
            raise CommandError(
                "The demo data is missing: run `python manage.py seed_demo` (or `make run`) first."
            )
        device = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
        lines = [
            "",
            f"Demo login: {_login_url()}",
            f"  Email:     {user.email}",
            f"  Password:  {demo.DEMO_PASSWORD}",
        ]
        if device is None:
            lines.append("  2FA:       not enrolled (the login asks for no code)")
        else:
            totp = pyotp.TOTP(device.secret)
            uri = totp.provisioning_uri(name=user.email, issuer_name="StatusPool")
            lines += [
                f"  2FA secret (TOTP): {device.secret}",
                f"  otpauth URI:       {uri}",
                f"  Code right now:    {totp.now()} (changes every 30 seconds, each code works once)",
                "  Add the secret or URI to an authenticator app, or get a fresh code with:",
                f"    python -c \"import pyotp;print(pyotp.TOTP('{device.secret}').now())\"",
            ]
        others = [email for email, *_ in demo.DEMO_PEOPLE if email != user.email]
        lines.append(f"  Also in the team (same password, no 2FA yet): {', '.join(others)}")
        # The demo key's secret was printed once by seed_demo and is stored only as a digest, so
        # the way to a working key is always a new one.
        account = demo.demo_account()
        lines += [
            "",
            f"API keys: log in, then API Access ({settings.SITE_URL}{reverse('apikeys:list')}) →",
            "  Create key; the key is shown once. Or from a shell:",
            f'    python manage.py createapikey --account "{account.name}" --name "my script"'
            " --scopes monitors:read",
            f"  then: curl -H 'Authorization: Bearer sp_live_…' {settings.SITE_URL}/v2/monitors",
        ]
        self.stdout.write("\n".join(lines) + "\n")
