"""One settings module for every environment, switched by environment variables."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("KUNDEFLYT_DATA_DIR", BASE_DIR / "data"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
# No fallback key outside development: a server must never run on a key from a public
# repository (sessions, password resets and CSRF tokens would be forgeable).
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set SECRET_KEY (a long random string) in the environment, or DEBUG=1 to develop."
        )
    SECRET_KEY = "dev-only-insecure-key-change-me"
# The key of the hashes by which an erased person's customer id and phones are recognised
# (privacy.ErasedKey). Keep it when SECRET_KEY is rotated, or erased people are forgotten.
PRIVACY_HASH_KEY = os.environ.get("PRIVACY_HASH_KEY", SECRET_KEY)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# --- Transport security ---------------------------------------------------------------------
# With DEBUG off, HTTPS is assumed: secure cookies, HSTS, a redirect from HTTP, and the
# X-Forwarded-Proto header of the TLS-terminating proxy in front. Only a deployment served
# over plain HTTP (or the test run's live server) opts out, explicitly, with PLAIN_HTTP=1.
HTTPS = not DEBUG and not env_bool("PLAIN_HTTP", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer asks over plain HTTP
X_FRAME_OPTIONS = "DENY"
# No script but our own files: no inline script, no eval (htmx is told not to evaluate).
# Styles may be inline: charts and a few elements carry style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "kundeflyt.common",
    "kundeflyt.accounts",
    "kundeflyt.crm",
    "kundeflyt.flows",
    "kundeflyt.campaigns",
    "kundeflyt.handling",
    "kundeflyt.reports",
    "kundeflyt.imports",
    "kundeflyt.exports",
    "kundeflyt.api",
    "kundeflyt.webhooks",
    "kundeflyt.privacy",
    "kundeflyt.telephony",
    "ninja",  # the API's docs page from its own static files (no CDN, no inline script)
    "django_tasks",  # Django's tasks API (the backport) for imports and large exports
    "django_tasks_db",  # …with its database backend: work survives a restart
    "axes",  # login lockout (see Accounts below)
    "django_otp",  # two-factor login
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # recovery codes
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "kundeflyt.common.middleware.PrivatePagesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kundeflyt.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kundeflyt.accounts.middleware.IdleTimeoutMiddleware",
    "kundeflyt.accounts.middleware.TwoFactorMiddleware",
    "kundeflyt.common.middleware.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a locked-out login into our page
]

ROOT_URLCONF = "kundeflyt.urls"
WSGI_APPLICATION = "kundeflyt.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kundeflyt" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kundeflyt.handling.context_processors.current_customer",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite is the embedded default so that a fresh clone runs with one command; PostgreSQL is
# for production and for the concurrency tests.
DEFAULT_SQLITE = f"sqlite:///{DATA_DIR / 'kundeflyt.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", DEFAULT_SQLITE))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # Writers take the lock when the transaction starts, so two writers never deadlock
        # on a lock upgrade; readers keep reading under WAL.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "handling:my_work"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("FAST_PASSWORD_HASHER"):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Language, time, money ------------------------------------------------------------------
LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norwegian Bokmål")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "kundeflyt" / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Oslo"
USE_TZ = True
DEFAULT_CURRENCY = "NOK"
PHONE_DEFAULT_REGION = "NO"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve from the apps too, so no collectstatic step is needed
STATICFILES_DIRS = [BASE_DIR / "kundeflyt" / "static"]

# --- Background work ------------------------------------------------------------------------
# Imports and large exports run as tasks; `make run` starts a worker (manage.py worker)
# beside the web server. The test run executes them at once, in the test's process.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# Every worker (`manage.py worker`) also enqueues the scheduled jobs of kundeflyt/schedule.py.
SCHEDULER_ENABLED = env_bool("SCHEDULER_ENABLED", True)
# How long the access log keeps who viewed which customer (GDPR: kept no longer than needed).
ACCESS_LOG_DAYS = int(os.environ.get("ACCESS_LOG_DAYS", "180"))
# How long a client's Idempotency-Key is remembered.
IDEMPOTENCY_KEY_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_HOURS", "24"))
# Uploads: a customer file is read from disk, never whole into memory, and is capped.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_MB", "200")) * 1024 * 1024
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "2000000"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Mail (a webhook subscription's maker hears when it is disabled): printed unless configured.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "kundeflyt@localhost")
# For EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend:
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)

# --- Kundeflyt ------------------------------------------------------------------------------
# Requests a minute that one API token may make (more are answered 429 with Retry-After).
API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT", "600"))
# Webhooks go to public addresses only, unless this allows private ones (tests, closed nets).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS")
# Calls and SMS (S7). Providers' credentials are sealed with this key (Fernet); keep it when
# SECRET_KEY is rotated, or the stored credentials must be entered again.
CREDENTIALS_KEY = os.environ.get("CREDENTIALS_KEY", SECRET_KEY)
# The address providers call back (delivery reports, call progress, incoming SMS): this
# server as the internet reaches it, e.g. https://kundeflyt.example.no. Empty: no callbacks
# are asked for, and statuses stop at "sent".
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
# The providers' API addresses; set only to reach a test double or a regional endpoint.
TELEPHONY_API_URLS = {
    "46elks": os.environ.get("ELKS_API_URL", "https://api.46elks.com/a1"),
    "twilio": os.environ.get("TWILIO_API_URL", "https://api.twilio.com/2010-04-01"),
}
# Bulk SMS go out at most this many a minute (0: as fast as the provider takes them).
SMS_BULK_PER_MINUTE = int(os.environ.get("SMS_BULK_PER_MINUTE", "120"))
# How long the worker waits for a provider's answer.
TELEPHONY_TIMEOUT_SECONDS = float(os.environ.get("TELEPHONY_TIMEOUT_SECONDS", "10"))
# How long a selection (the agent's current customer) lives without a renewal from the screen.
SELECTION_LEASE_SECONDS = int(os.environ.get("SELECTION_LEASE_SECONDS", "120"))

# Personal data stays out of the logs: request lines lose their query strings (searches and
# filters carry names and numbers), in runserver's log and in Django's request errors alike.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_query": {"()": "kundeflyt.common.logs.StripQueryStrings"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["no_query"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Accounts: lockout, sessions, two-factor login ------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any other
    "kundeflyt.accounts.backends.PeopleBackend",  # username and password: people, not systems
    "kundeflyt.accounts.backends.ProductPermissionBackend",
]

# Lockout (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one user from one address lock
# that user at that address for LOGIN_LOCKOUT_MINUTES. The user and the address together: a
# call centre shares one address, and one agent's typos must not lock the others out.
AXES_ENABLED = env_bool("AXES_ENABLED", True)  # off only for the test run (pyproject.toml)
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful login forgets the typos before it
# The wait the page shows is the wait that holds: tries while locked do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "kundeflyt.accounts.lockout.locked_out_response"
AXES_CLIENT_IP_CALLABLE = "kundeflyt.accounts.lockout.client_address"
AXES_USERNAME_CALLABLE = "kundeflyt.accounts.lockout.client_username"
AXES_DISABLE_ACCESS_LOG = True  # no log of every successful login's address: not needed
# Reverse proxies in front that append the client's address to X-Forwarded-For (nginx: 1).
# 0 reads the address of the connection itself.
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))

# Sessions end after SESSION_IDLE_HOURS without the user doing anything; the screen's polls
# (lease renewal, side panel, presence) are not activity. The cookie outlives the idle time by
# an hour, so the idle check sees a lapsed session first and can say why it ended.
SESSION_IDLE_SECONDS = round(float(os.environ.get("SESSION_IDLE_HOURS", "8")) * 3600)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS + 3600

# Two-factor login (django-otp, TOTP with recovery codes). OTP_REQUIRED_FOR names the
# permissions whose holders must use it (comma separated, empty for nobody). With DEBUG on
# (`make run`) nobody must, so the printed demo logins work without an authenticator app.
OTP_REQUIRED_BY_DEFAULT = (
    "administrator,campaign_setup,extended_customer_handling,correct_registrations,privacy_officer,"
    "bulk_sms"
)
_otp_required = os.environ.get("OTP_REQUIRED_FOR", "" if DEBUG else OTP_REQUIRED_BY_DEFAULT)
OTP_REQUIRED_FOR = [name.strip() for name in _otp_required.split(",") if name.strip()]
OTP_TOTP_ISSUER = "Kundeflyt"  # the name authenticator apps show beside the code
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a user's secret or recovery codes
