"""StatusPool settings: one module, every value read from the environment.

Two ways to run (see README): the embedded default (SQLite, a file cache, Celery over kombu's
filesystem transport, emails written under var/) and production (STATUSPOOL_ENV=production with
DATABASE_URL, REDIS_URL and SMTP). Production refuses to start without real secrets; the embedded
default reads the secrets `make run` generated into .env.
"""

import base64
import logging
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from statuspool import logredact, scopes
from statuspool.env import (
    env_bool,
    env_choice,
    env_cidrs,
    env_int,
    env_list,
    env_rate,
    env_str,
    estimated_entropy_bits,
    load_dotenv,
    parse_ec_public_keys,
    parse_keyring,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STATUSPOOL_VAR_DIR", str(BASE_DIR / "var")))
load_dotenv(Path(env_str("STATUSPOOL_ENV_FILE", str(BASE_DIR / ".env"))))

ENVIRONMENT = env_choice("STATUSPOOL_ENV", "development", {"development", "production"})
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when STATUSPOOL_ENV=production")


# A 60 × "x" key is 60 characters long and worthless; a generated one (token_urlsafe(50)) has about
# 40 distinct characters and ~340 bits by this estimate, Django's get_random_secret_key() ~240.
SECRET_KEY_MIN_DISTINCT = 20
SECRET_KEY_MIN_ENTROPY_BITS = 200


def _secret(name: str) -> str:
    value = env_str(name)
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set when STATUSPOOL_ENV=production")
    # Development without a .env: an ephemeral secret keeps one process working; `make run`
    # writes .env so that every process (web, worker, commands) shares the same secrets.
    logging.getLogger("statuspool.settings").warning("%s is not set; using a temporary one", name)
    return "p1:" + secrets.token_urlsafe(32) if name != "SECRET_KEY" else secrets.token_urlsafe(50)


SECRET_KEY = _secret("SECRET_KEY")
if PRODUCTION and (
    len(SECRET_KEY) < 50
    or SECRET_KEY.startswith("django-insecure")
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_DISTINCT
    or estimated_entropy_bits(SECRET_KEY) < SECRET_KEY_MIN_ENTROPY_BITS
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be a random value of at least 50 characters "
        f"(≥ {SECRET_KEY_MIN_DISTINCT} distinct characters, ≥ {SECRET_KEY_MIN_ENTROPY_BITS} bits "
        "of estimated entropy): generate one with `python -m statuspool.envfile`"
    )

# Keyed digests of bearer credentials: "id:base64" entries, newest first. The id is stored beside
# each digest so a pepper can be rotated without invalidating credentials made with the old one.
DIGEST_PEPPERS = parse_keyring("DIGEST_PEPPERS", _secret("DIGEST_PEPPERS"))
# AES-256-GCM key ring for secrets the server must read back: newest first, 32-byte keys.
_raw_keys = env_str("ENCRYPTION_KEYS")
if not _raw_keys and not PRODUCTION:
    _raw_keys = "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
ENCRYPTION_KEYS = parse_keyring("ENCRYPTION_KEYS", _raw_keys or _secret("ENCRYPTION_KEYS"), 32)
# HMAC keys of the audit chain ("id:base64", newest first, ≥ 32 bytes). Only in the environment,
# never in the database, so a database writer cannot re-hash a chain it has altered (audit/chain.py).
_raw_audit = env_str("AUDIT_KEYS")
if not _raw_audit and not PRODUCTION:
    # Without .env (a bare `manage.py` in development) the chain is only keyed for this process.
    logging.getLogger("statuspool.settings").warning("AUDIT_KEYS is not set; using a temporary one")
    _raw_audit = "a1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
AUDIT_KEYS = parse_keyring("AUDIT_KEYS", _raw_audit or _secret("AUDIT_KEYS"))

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when STATUSPOOL_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "statuspool.accounts.admin_apps.StatusPoolAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "csp",
    "statuspool.accounts",
    "statuspool.monitoring",
    "statuspool.notifications",
    "statuspool.credcache",
    "statuspool.onboarding",
    "statuspool.health",
    "statuspool.leak_reports",
    "audit",
    "usage",
    "apikeys",
    "oauthapps",
]

MIDDLEWARE = [
    # /healthz first: container healthchecks call it by address, before ALLOWED_HOSTS and redirects.
    "statuspool.health.middleware.HealthCheckMiddleware",
    # Before SecurityMiddleware's https redirect: a credential sent over http is refused, not
    # redirected (which would make the client send it twice).
    "statuspool.api.leaks.PlainHttpCredentialMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "statuspool.database.UnavailableMiddleware",
    "statuspool.nulguard.NulGuardMiddleware",
    # /v2's credential lookup goes to Redis now; authentication takes its reply (issue 12).
    "statuspool.api.early_lookup.EarlyCredentialLookupMiddleware",
    # The dashboard's middleware steps aside on /v2's JSON endpoints (statuspool/api/middleware.py).
    "statuspool.api.middleware.DashboardSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "statuspool.api.middleware.DashboardAuthenticationMiddleware",
    "statuspool.api.middleware.DashboardSessionIdleTimeoutMiddleware",
    "statuspool.api.middleware.DashboardMessageMiddleware",
    # After messages: it tells the operator why they are on the enrollment page.
    "statuspool.api.middleware.DashboardStaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "statuspool.api.middleware.StaticCSPMiddleware",
    "statuspool.api.middleware.DashboardCurrentAccountMiddleware",
    "statuspool.accounts.middleware.RequireTwoFactorMiddleware",
    "statuspool.accounts.middleware.UserTimeZoneMiddleware",
]

ROOT_URLCONF = "statuspool.urls"
WSGI_APPLICATION = "statuspool.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "statuspool.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'statuspool.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if PRODUCTION and DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    raise ImproperlyConfigured("Production needs DATABASE_URL pointing at PostgreSQL")
# A database that is down or hangs costs a request seconds, then a 503 (statuspool/database.py).
# libpq counts connect_timeout in whole seconds and treats anything below 2 as 2.
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=2)
DATABASE_STATEMENT_TIMEOUT = env_int("DATABASE_STATEMENT_TIMEOUT", 30, minimum=0)  # 0: no limit
DATABASE_ERROR_LOG_INTERVAL = env_int("DATABASE_ERROR_LOG_INTERVAL", 60, minimum=1)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=DATABASE_CONNECT_TIMEOUT,
        options=f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT * 1000}",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, not {REDIS_URL!r}")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("Production needs REDIS_URL (shared counters, revocation, broker)")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "sp"),
            # A dead Redis must cost milliseconds, not the request: the callers fall back.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
else:
    # A file cache is shared by every process on this machine (web, worker, commands), which is
    # what the embedded default needs for revocation and counters.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Celery ------------------------------------------------------------------------------------
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    for _folder in (_queue_dir, _processed_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        # Exchange bindings; kombu's default is "control" in the working directory (the checkout).
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat records each tick for `manage.py health` / `/healthz` (statuspool/health/beat.py).
CELERY_BEAT_SCHEDULER = "statuspool.health.beat:HeartbeatScheduler"
# Unhealthy when beat's last tick is older than this, or an email has been due for longer than that.
HEALTH_BEAT_MAX_AGE = env_int("HEALTH_BEAT_MAX_AGE", 60, minimum=10)
HEALTH_OUTBOX_MAX_DELAY = env_int("HEALTH_OUTBOX_MAX_DELAY", 600, minimum=30)
# The one place the periodic jobs are defined.
CELERY_BEAT_SCHEDULE = {
    # Deletes expired authorization codes and OAuth tokens; keeps spent refresh tokens for reuse
    # detection until they expire.
    "oauthapps-clear-expired-tokens": {
        "task": "oauthapps.tasks.clear_expired_tokens",
        "schedule": timedelta(days=1),
    },
    # Moves buffered /v2 request-log entries (Redis list or spool files) into the database.
    "usage-flush-request-log": {
        "task": "usage.tasks.flush_request_log",
        "schedule": timedelta(seconds=5),
    },
    # Deletes audit events and request-log rows older than AUDIT_RETENTION_DAYS: events in batches,
    # the request log on PostgreSQL by dropping whole monthly partitions (usage/partitions.py).
    "retention-purge-expired": {
        "task": "usage.tasks.purge_expired",
        "schedule": timedelta(days=1),
    },
    # Creates the request log's monthly partitions for this month and the next three (PostgreSQL;
    # also run after `migrate` and on worker start). Rows of a month without one wait in the
    # default partition and are moved into it on the next run.
    "usage-ensure-request-log-partitions": {
        "task": "usage.tasks.ensure_request_log_partitions",
        "schedule": timedelta(days=1),
    },
    # Flags API keys idle for APIKEY_STALE_DAYS and emails owners (warning, then the reminder).
    "apikeys-flag-stale": {"task": "apikeys.tasks.flag_stale_keys", "schedule": timedelta(days=1)},
    # Suspends API keys idle for APIKEY_SUSPEND_DAYS whose owners were warned in time.
    "apikeys-suspend-stale": {
        "task": "apikeys.tasks.suspend_stale_keys",
        "schedule": timedelta(days=1),
    },
    # API key expiry: reminder emails 7 days and 1 day before, then records (audit + email) each
    # key that reached its date. Keys are refused at their expiry instant whatever this does.
    "apikeys-expire": {"task": "apikeys.tasks.expire_keys", "schedule": timedelta(hours=1)},
    # Writes buffered last-used data of API keys / OAuth grants and queues Usage Alerts; a run
    # that waited longer than the interval is dropped, the next one flushes the same buffer.
    "usage-flush-last-used": {
        "task": "usage.tasks.flush_usage",
        "schedule": timedelta(seconds=30),
        "options": {"expires": 25},
    },
    # Deletes login / sudo / sign-up failure counters whose window has ended.
    "accounts-prune-failure-counters": {
        "task": "accounts.prune_failure_counters",
        "schedule": timedelta(hours=1),
    },
    # Deletes sign-ups whose confirmation link expired or was used.
    "onboarding-prune-pending-signups": {
        "task": "onboarding.prune_pending_signups",
        "schedule": timedelta(hours=1),
    },
    # Sends outbox emails whose first attempt was lost (broker down, worker restarted).
    "notifications-sweep-outbox": {
        "task": "statuspool.notifications.tasks.sweep_outbox",
        "schedule": timedelta(minutes=1),
    },
}

# --- Email -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "StatusPool <no-reply@statuspool.local>")
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- Authentication and sessions -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "monitoring:monitor_list"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)
# A session unused this long ends (statuspool.accounts.middleware.SessionIdleTimeoutMiddleware),
# whatever is left of SESSION_COOKIE_AGE: a dashboard left open on a shared machine.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 2 * 3600, minimum=60)
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_HTTPONLY = True
if PRODUCTION:
    # __Host-: the browser accepts the cookie only over https, for this exact host and path "/",
    # so a sibling subdomain cannot plant or overwrite a session or CSRF cookie.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
# Preloading is a promise to browsers that is slow to take back: the operator opts in.
SECURE_HSTS_PRELOAD = PRODUCTION and env_bool("SECURE_HSTS_PRELOAD", False)
# W021 only says "preload is off", which is then the operator's decision, not an oversight.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Login attempts and sudo confirmations (per IP / per email / per user).
LOGIN_RATE_PER_IP = env_rate("LOGIN_RATE_PER_IP", "20/10m")
LOGIN_RATE_PER_EMAIL = env_rate("LOGIN_RATE_PER_EMAIL", "5/15m")
SIGNUP_RATE_PER_IP = env_rate("SIGNUP_RATE_PER_IP", "10/h")
# Forgotten-password emails per client IP and per address; invitations sent per account.
PASSWORD_RESET_RATE_PER_IP = env_rate("PASSWORD_RESET_RATE_PER_IP", "10/h")
PASSWORD_RESET_RATE_PER_EMAIL = env_rate("PASSWORD_RESET_RATE_PER_EMAIL", "3/h")
PASSWORD_RESET_TIMEOUT = 3600  # the reset link works for one hour (and once)
INVITATION_RATE_PER_ACCOUNT = env_rate("INVITATION_RATE_PER_ACCOUNT", "30/h")
# How long the emailed sign-up confirmation link works.
SIGNUP_CONFIRM_SECONDS = env_int("SIGNUP_CONFIRM_SECONDS", 24 * 3600, minimum=600)
SUDO_FAILURE_LIMIT = env_int("SUDO_FAILURE_LIMIT", 5, minimum=1)
SUDO_FAILURE_WINDOW = env_int("SUDO_FAILURE_WINDOW", 15 * 60, minimum=60)
RATELIMIT_USE_CACHE = "default"
# django-ratelimit's switch, spelled out: the throttle reads it on every request, and a setting
# that is defined is one attribute read (an undefined one costs an exception each time).
RATELIMIT_ENABLE = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- The /v2 API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "statuspool.api.authentication.BearerCredentialAuthentication"
    ],
    # Network policy (IP allowlist) before scope, then the plan's rate limit (DESIGN.md steps 2-4).
    "DEFAULT_PERMISSION_CLASSES": [
        "statuspool.api.network.AllowedNetwork",
        "statuspool.api.permissions.HasRequiredScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["statuspool.api.throttling.PlanRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["statuspool.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "statuspool.api.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "statuspool.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "StatusPool monitoring API",
    "DESCRIPTION": "The /v2 API, authenticated with API keys (sp_live_…) or OAuth 2.0 access tokens.",
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # Deep links put a link inside each operation's toggle button (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "defaultModelsExpandDepth": -1},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/v2",
    # Two models have a "kind" enum; name them apart so the schema has no collisions.
    "ENUM_NAME_OVERRIDES": {
        "ChannelKindEnum": "statuspool.monitoring.models.NotificationChannel.Kind",
        "ActorKindEnum": "audit.models.ActorKind",
        "RoleEnum": "statuspool.accounts.models.Role",
        "InvitableRoleEnum": "statuspool.accounts.models.INVITABLE_ROLE_CHOICES",
    },
}
# Which authenticator handles a bearer value, chosen by its prefix (DESIGN.md, step 1).
API_CREDENTIAL_AUTHENTICATORS = {
    "sp_live_": "apikeys.authentication.authenticate_api_key",
    "sp_oat_": "oauthapps.authentication.authenticate_access_token",
}
# The Audit Log's "key" filter asks the app that owns API keys for a key's row id.
AUDIT_API_KEY_LOOKUP = "apikeys.lookups.key_pk_for_public_id"
# Its "app" filter (one click from an OAuth application's page) asks oauthapps for the client_id.
AUDIT_APPLICATION_LOOKUP = "oauthapps.lookups.client_id_for_application"
# GET /v2/billing asks it how many keys count toward the account's allowance.
ACCOUNT_API_KEYS_IN_USE = "apikeys.lookups.keys_counting_toward_limit"
# Settings → Usage names and links each credential it ranks through the app that owns its kind.
USAGE_CREDENTIAL_PAGES = {
    "api_key": "apikeys.lookups.usage_pages",
    "oauth_authorization": "oauthapps.lookups.usage_pages",
}
# Credential kind → what the usage flush does with its buffered last-used records (usage.writers).
USAGE_WRITERS = {
    "api_key": "apikeys.usage_writer.ApiKeyUsageWriter",
    "oauth_token": "oauthapps.usage_writer.AuthorizationUsageWriter",  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
}
# Network addresses of reverse proxies whose X-Forwarded-For is believed (CIDRs, comma separated).
TRUSTED_PROXIES = env_cidrs("TRUSTED_PROXIES")
# Authentication results are cached this long; revocation deletes the entry everywhere at once.
API_AUTH_CACHE_SECONDS = env_int("API_AUTH_CACHE_SECONDS", 30, minimum=0)
# Cached authentications are believed only while a marker this short-lived says no invalidation
# is waiting in the database (statuspool/credcache): the bound on a revocation lost to a Redis
# outage shorter than this. Renewing it costs one query per this many seconds, cluster-wide.
API_AUTH_TRUST_SECONDS = env_int("API_AUTH_TRUST_SECONDS", 1, minimum=1)
# Failed authentications per client address (IPv6: per /64) and minute before answering 429.
API_AUTH_FAILURES_PER_MINUTE = env_int("API_AUTH_FAILURES_PER_MINUTE", 30, minimum=1)
# Leaked-credential reports (POST /v2/leaks, GitHub's secret-scanning partner protocol): the
# reporters' ECDSA P-256 public keys by id ("id:base64,…"); none configured = every report is 401.
LEAK_REPORT_PUBLIC_KEYS = parse_ec_public_keys(
    "LEAK_REPORT_PUBLIC_KEYS", env_str("LEAK_REPORT_PUBLIC_KEYS")
)
LEAK_REPORT_RATE = env_rate("LEAK_REPORT_RATE", "60/m")
LEAK_REPORT_MAX_TOKENS = env_int("LEAK_REPORT_MAX_TOKENS", 1000, minimum=1)
# After a shared-cache (Redis) error, a process stops asking it for this many seconds.
API_CACHE_RETRY_SECONDS = env_int("API_CACHE_RETRY_SECONDS", 5, minimum=0)
# A shared-cache outage is logged at most once per this many seconds per process.
API_CACHE_ERROR_LOG_INTERVAL = env_int("API_CACHE_ERROR_LOG_INTERVAL", 60, minimum=1)
# Last-used time of one (credential, address) pair is buffered at most once per this many seconds.
API_USAGE_RECORD_EVERY_SECONDS = env_int("API_USAGE_RECORD_EVERY_SECONDS", 5, minimum=0)

# Plan limits, requests per 60-second window (SPEC.md "Rate limits").
API_RATE_LIMITS = {
    "team": {
        "read": env_int("RATE_TEAM_READ", 600, 1),
        "write": env_int("RATE_TEAM_WRITE", 120, 1),
    },
    "enterprise": {
        "read": env_int("RATE_ENTERPRISE_READ", 2400, 1),
        "write": env_int("RATE_ENTERPRISE_WRITE", 600, 1),
    },
}

# API key lifecycle (SPEC.md "Stale keys"); every number is a setting.
APIKEY_MAX_PER_ACCOUNT = env_int("APIKEY_MAX_PER_ACCOUNT", 4, minimum=1)
APIKEY_ROTATION_RECOMMENDED_DAYS = env_int("APIKEY_ROTATION_RECOMMENDED_DAYS", 90, minimum=1)
APIKEY_STALE_DAYS = env_int("APIKEY_STALE_DAYS", 60, minimum=1)
APIKEY_SUSPEND_DAYS = env_int("APIKEY_SUSPEND_DAYS", 90, minimum=1)
APIKEY_SUSPEND_REMINDER_DAYS = env_int("APIKEY_SUSPEND_REMINDER_DAYS", 7, minimum=1)

AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365, minimum=1)

# Offline GeoIP: a MaxMind country/city database when configured, else geoip2fast's bundled data.
GEOIP_DATABASE_PATH = env_str("GEOIP_DATABASE_PATH")

# --- OAuth 2.0 (django-oauth-toolkit) ----------------------------------------------------------
# A refresh-token family (one consent's chain of rotations) ends this many days after its first
# token, however recently it was refreshed (RFC 9700 §4.14); each refresh token lives 30 days.
OAUTH_REFRESH_FAMILY_MAX_AGE_DAYS = env_int("OAUTH_REFRESH_FAMILY_MAX_AGE_DAYS", 365, minimum=1)
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauthapps.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauthapps.AccessToken"  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauthapps.RefreshToken"  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
OAUTH2_PROVIDER_GRANT_MODEL = "oauthapps.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauthapps.IDToken"  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauthapps.DeviceGrant"
OAUTH2_PROVIDER = {
    "SCOPES": dict(scopes.SCOPES),  # the one catalog (statuspool/scopes.py)
    # A client that asks for no scope gets the least: read access to monitors.
    "DEFAULT_SCOPES": ["monitors:read"],
    # Authorization code + refresh token only, PKCE S256 only (oauthapps/server.py).
    "OAUTH2_SERVER_CLASS": "oauthapps.server.AuthorizationCodeServer",
    "OAUTH2_VALIDATOR_CLASS": "oauthapps.validator.StatusPoolValidator",
    "OAUTH2_BACKEND_CLASS": "oauthapps.backend.StatusPoolOAuthLibCore",
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_GENERATOR": "oauthapps.token_format.generate_access_token",  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "REFRESH_TOKEN_GENERATOR": "oauthapps.token_format.generate_refresh_token",  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    # Client secrets: keyed HMAC-SHA256 (oauthapps/hashers.py), not a slow password hasher.
    "CLIENT_SECRET_HASHER": "sp_hmac_sha256",  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    # https only; an application that registered a loopback URI (http://127.0.0.1, localhost)
    # for a native app may also redirect to it (oauthapps.models.Application.get_allowed_schemes).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "REQUEST_APPROVAL_PROMPT": "force",
    # RFC 9700 gates, all enforced: no implicit or password grant, no "plain" PKCE, tokens stored
    # only as SHA-256 checksums, the "iss" parameter on authorization responses (RFC 9207).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,  # nosec B105  # a setting whose name mentions TOKEN or SECRET; the value is not a secret
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # RFC 8414 metadata (/.well-known/oauth-authorization-server) advertises exactly that.
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ],
    # Device authorization grant (RFC 8628) for public clients / CLIs (oauthapps/device.py).
    # Our server installs its own polling checks (oauthapps.device.check_device_poll) instead of
    # DOT's hook, which would look up a device code without checking the client or its state.
    "DEVICE_FLOW_INTERVAL": 5,
    "OAUTH_PRE_TOKEN_VALIDATION": [],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post"],
}

# Device flow: how long a device code / user code pair lives, and failed user-code entries allowed
# per person and per client address before the /device page stops checking codes.
OAUTH_DEVICE_CODE_EXPIRES_SECONDS = env_int("OAUTH_DEVICE_CODE_EXPIRES_SECONDS", 900)
OAUTH_DEVICE_USER_CODE_RATE = env_rate("OAUTH_DEVICE_USER_CODE_RATE", "10/15m")
# Device authorization requests per client address (each one stores a row until it expires).
OAUTH_DEVICE_AUTHORIZATION_RATE = env_rate("OAUTH_DEVICE_AUTHORIZATION_RATE", "60/10m")
# DPoP (RFC 9449): how far a proof's iat may be from our clock, and whether the token endpoint
# demands a server nonce (answering use_dpop_nonce with a DPoP-Nonce header first).
OAUTH_DPOP_IAT_WINDOW_SECONDS = env_int("OAUTH_DPOP_IAT_WINDOW_SECONDS", 60)
OAUTH_DPOP_NONCE_REQUIRED = env_bool("OAUTH_DPOP_NONCE_REQUIRED", True)
# The application logo upload limit (bytes) before it is validated and resized to 128x128 PNG.
OAUTH_LOGO_MAX_BYTES = env_int("OAUTH_LOGO_MAX_BYTES", 1024 * 1024)

# --- Logging -----------------------------------------------------------------------------------
# Every log record of the process is made credential-free where it is made (statuspool/logredact.py).
logredact.install()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
