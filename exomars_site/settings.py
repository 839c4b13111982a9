"""Settings for the negotiation tracker, read from the environment.

Every value has a safe default for trying the app out on a laptop (PostgreSQL embedded in
the project's folder, DEBUG off unless asked, console mail). Production sets DATABASE_URL,
SECRET_KEY, ALLOWED_HOSTS, SITE_URL and the SMTP variables; the app refuses to start
without a secret key when DEBUG is off.
"""

import datetime
import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value else default


def env_date(name: str) -> datetime.date | None:
    value = env(name).strip()
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a date written YYYY-MM-DD, not {value!r}."
        ) from None


DEBUG = env_bool("DEBUG")

# "Today" for the whole app (agreements/clock.py): unset, today is today; set, a replayed
# case (the ExoMars demo ends in November 2012) reads as of that day.
TRACKER_AS_OF = env_date("TRACKER_AS_OF")

# Days without activity after which a record is idle (agreements/models/idle.py): flagged
# with its reason on pages and lists, named once in digests, never closed.
IDLE_TOPIC_DAYS = env_int("IDLE_TOPIC_DAYS", 90)
IDLE_RESERVATION_DAYS = env_int("IDLE_RESERVATION_DAYS", 30)
IDLE_PENDING_CLAUSE_DAYS = env_int("IDLE_PENDING_CLAUSE_DAYS", 60)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY and DEBUG:
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")

# What stops the web application from starting (exomars_site.wsgi and .asgi, and so
# runserver and gunicorn) and fails `check --deploy`. Commands that serve nothing, such as
# makemigrations or migrate, still run, so a checkout can be inspected without secrets.
STARTUP_REFUSALS = [
    message
    for missing, message in (
        (
            not SECRET_KEY,
            "SECRET_KEY is not set. Set it in the environment, or set DEBUG=1 for local use.",
        ),
        (
            not DEBUG and not ALLOWED_HOSTS,
            "ALLOWED_HOSTS is not set; it is required when DEBUG is off.",
        ),
        (
            # DEBUG would show every error's settings and source to any visitor, and run on
            # the development secret key above.
            DEBUG and env("DJANGO_ENV") == "production",
            "DEBUG is on with DJANGO_ENV=production; turn DEBUG off in production.",
        ),
        (
            # Never the embedded server in production (exomars_site/database.py).
            not env("DATABASE_URL") and env("DJANGO_ENV") == "production",
            "DATABASE_URL is not set; it is required with DJANGO_ENV=production.",
        ),
    )
    if missing
]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Absolute base for links in emails and feeds, which have no request to build them from.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "pghistory",
    "agreements",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "agreements.middleware.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with the user loaded in the session's query.
    "agreements.sessions.SessionUserMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Writes (not reads) carry the user and URL into the audit trail's events.
    "agreements.audit_trail.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "agreements.middleware.HtmxLoginRedirectMiddleware",
    # Last, so that a locked-out login attempt is answered before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "exomars_site.urls"
WSGI_APPLICATION = "exomars_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "agreements.record_cache.context",
                "agreements.clock.context",
            ],
        },
    },
]


def database_settings() -> dict:
    """DATABASE_URL's server (CI, production, the benchmark), else PostgreSQL embedded in
    the project's folder (exomars_site/database.py), started by its backend when a command
    first connects, so that `help`, `makemessages` or `check` start nothing; in production,
    none (a startup refusal above). PostgreSQL only: its full-text search, triggers and row
    locks are part of the product."""
    # Persistent connections with a health check: a restarted PostgreSQL costs a few failed
    # requests, not a dead worker holding a broken connection.
    options = {"conn_max_age": env_int("CONN_MAX_AGE", 60), "conn_health_checks": True}
    url = env("DATABASE_URL")
    if url:
        if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
            sys.exit("DATABASE_URL must name a PostgreSQL server (postgres://...).")
        return dj_database_url.parse(url, engine="exomars_site.postgresql", **options)
    if env("DJANGO_ENV") == "production":
        return dj_database_url.parse("postgres:///", engine="exomars_site.postgresql", **options)
    from exomars_site import database  # finds paths only; starts nothing

    return dj_database_url.parse(
        database.url(), engine="exomars_site.embedded_postgresql", **options
    )


DATABASES = {"default": database_settings()}
# No JIT compilation: the reader pages' queries carry per-row subqueries whose estimated
# cost (not their actual one) passes jit_above_cost, and PostgreSQL then spent 0.4 s
# compiling the dashboard's agreement query to run 30 ms of work (EXPLAIN ANALYZE at 100x
# the demo). JIT pays off for long analytical queries, which this app does not run. Sent
# as a startup option, so no query is added; a DATABASE_URL that sets `options` keeps its
# own (a pooler that refuses startup options: `ALTER ROLE ... SET jit = off` instead).
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
# Prepared statements: a reader page's queries carry the visibility rule, the idle flags and
# per-row totals, and PostgreSQL took 30 to 120 ms to *plan* some of them, as long as or
# longer than running them (EXPLAIN ANALYZE at 100x the demo). Bound on the server, each
# query a worker runs again is prepared on its connection (`prepare_threshold`), and
# PostgreSQL plans it afresh only while a plan for its parameters pays. Off
# (`DATABASE_PREPARED_STATEMENTS=off`) behind a pooler in transaction mode that does not
# keep prepared statements (pgbouncer before 1.21, or without `max_prepared_statements`).
if env_bool("DATABASE_PREPARED_STATEMENTS", True):
    DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=2)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Rendered parts of the reader pages, keyed by the record's version (agreements/record_cache.py):
# no entry outlives a change. Unset CACHE_URL, each worker keeps its own in memory: nothing to
# run beside the app. CACHE_URL=redis://host:6379/0 shares one Redis between every worker of
# every app server (exomars_site/cache.py: while Redis is away, pages are served uncached).
CACHE_URL = env("CACHE_URL")
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 600)
CACHE_SCHEMES = ("redis://", "rediss://", "unix://")
if CACHE_URL and not CACHE_URL.startswith(CACHE_SCHEMES):
    STARTUP_REFUSALS.append("CACHE_URL must start with redis://, rediss:// or unix://.")


def shared_cache(prefix: str, **extra) -> dict:
    return {
        "BACKEND": "exomars_site.cache.ForgivingRedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": prefix,
        # A Redis that does not answer is given up on quickly: the page is served uncached.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        **extra,
    }


if CACHE_URL.startswith(CACHE_SCHEMES):
    CACHES = {
        "default": shared_cache("pages", TIMEOUT=PAGE_CACHE_SECONDS),
        # The API's request counts per token, shared too: a token's rate is one budget
        # across every worker and app server.
        "api-throttle": shared_cache("api-throttle"),
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "reader-pages",
            "TIMEOUT": PAGE_CACHE_SECONDS,
            "OPTIONS": {"MAX_ENTRIES": env_int("PAGE_CACHE_ENTRIES", 300)},
        },
        # The API's request counts per token (agreements/api/access.py), apart from the
        # pages so that their culling cannot reset a count. Per worker: with N workers a
        # token gets up to N times the rate.
        "api-throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "api-throttle",
            "OPTIONS": {"MAX_ENTRIES": 10000},
        },
    }

# Sessions live in the database so that any web process can serve any request, in a table
# that names the user: one query loads the session, the user, the record's version and the
# reader permission (agreements/sessions.py).
SESSION_ENGINE = "agreements.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 8 * 60 * 60)
# The age above is an idle timeout, not a fixed lifetime: IdleSessionMiddleware pushes it
# back as the session is used, writing the session at most once per this many seconds
# (not on every request, which would make every page read a database write).
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 60)

# django-axes: five failures for one username from one address lock that pair out.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours: fifteen minutes
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False


def axes_username(request, credentials: dict | None) -> str | None:
    """The username axes records, cut to its 255-character column.

    Django's login forms pass an overlong username on to authentication, and PostgreSQL
    refused to store it: a 500 instead of "wrong password". No real username is that long
    (150 at most), so cutting it changes no lockout.
    """
    username = (credentials or request.POST).get("username")
    return username[:255] if isinstance(username, str) else username


AXES_USERNAME_CALLABLE = axes_username

# How many proxies in front of the app append to X-Forwarded-For (nginx, a load balancer):
# the client's address is that many entries from the right (exomars_site/proxies.py). 0, the
# default, uses the connection's address: right when nothing stands in front of the app, and
# safe, as a client can forge X-Forwarded-For but not its connection.
TRUSTED_PROXY_COUNT = max(env_int("TRUSTED_PROXY_COUNT", 0), 0)
AXES_CLIENT_IP_CALLABLE = "exomars_site.proxies.client_address"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The project's own date formats per language, over Django's (agreements.models.dates).
FORMAT_MODULE_PATH = ["exomars_site.formats"]
USE_I18N = True
# Stored in UTC, shown in the time zone of the office that uses it.
USE_TZ = True
TIME_ZONE = "Europe/Paris"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

PRODUCTION = env("DJANGO_ENV") == "production"

# Mail through Django 6.1 mailers: the console in development, SMTP in production (or
# whenever EMAIL_HOST is set).
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "tracker@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_HOST") or PRODUCTION:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env("EMAIL_HOST", "localhost"),
                "port": env_int("EMAIL_PORT", 587),
                "username": env("EMAIL_HOST_USER"),
                "password": env("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": env_int("EMAIL_TIMEOUT", 30),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# Content Security Policy: scripts only from this site with the per-request nonce; no
# inline script, no eval (htmx runs with allowEval off), nothing framed.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Production hardening: behind HTTPS, cookies secure and host-only. A dict so that the
# tests can apply exactly these values and check the headers they produce.
PRODUCTION_SETTINGS = {
    "SECURE_SSL_REDIRECT": env_bool("SECURE_SSL_REDIRECT", True),
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_HSTS_SECONDS": 365 * 24 * 60 * 60,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SESSION_COOKIE_NAME": "__Host-sessionid",
    "CSRF_COOKIE_NAME": "__Host-csrftoken",
}
if PRODUCTION:
    globals().update(PRODUCTION_SETTINGS)

# The DEBUG error page hides settings and request variables whose names end in URL or DSN
# too: DATABASE_URL and its kind carry passwords, and the development server copies the
# environment into every request's META.
DEFAULT_EXCEPTION_REPORTER_FILTER = "exomars_site.log_redaction.SecretsHidden"

# The read-only API (agreements/api/): personal tokens or the session, readers only, JSON
# only, GET only, paged by cursor.
API_THROTTLE_RATE = env("API_THROTTLE_RATE", "120/minute")
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agreements.api.access.BearerTokenAuthentication",
        "agreements.api.access.ReaderSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["agreements.api.access.IsReader"],
    "DEFAULT_THROTTLE_CLASSES": ["agreements.api.access.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_FILTER_BACKENDS": ["agreements.api.filters.FormFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "agreements.api.pagination.RecordCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "agreements.api.errors.json_errors",
    # No OPTIONS answers (a 405 like any method but GET), no `?format=`.
    "DEFAULT_METADATA_CLASS": None,
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Negotiation tracker API",
    "DESCRIPTION": (
        "Read-only access to the negotiation record: what the reader pages show, as JSON. "
        "Send a personal token (made on the Subscriptions page) as "
        "`Authorization: Bearer <token>`, or use the session of a logged-in browser."
    ),
    "VERSION": "1",
    # OpenAPI 3.1: its schemas are plain JSON Schema, which the tests check answers against.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
    "SERVE_PERMISSIONS": REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "agreements.api.docs.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AgreementStatusEnum": "agreements.models.AgreementStatus",
        "ClauseStatusEnum": "agreements.models.ClauseStatus",
        "TopicStatusEnum": "agreements.models.TopicStatus",
        "FundingStatusEnum": "agreements.models.FundingStatus",
        "DatePrecisionEnum": "agreements.models.DatePrecision",
        "MilestoneKindEnum": "agreements.models.MilestoneKind",
        "SourceKindEnum": "agreements.models.SourceKind",
        "PartyKindEnum": "agreements.models.PartyKind",
        "ChangeKindEnum": "agreements.models.ChangeKind",
        "VisibilityEnum": "agreements.models.Visibility",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "redact_tokens": {"()": "exomars_site.log_redaction.RedactTokens"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # Server errors with their traceback, on stderr (gunicorn's error log). Django's own
        # console handler speaks only with DEBUG on, and no ADMINS are mailed: a 500 left no
        # trace at all. With DEBUG on, Django's handler prints it, so this one keeps quiet.
        "server_errors": {
            "class": "logging.StreamHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_tokens"],
        },
    },
    "loggers": {
        "agreements": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
        "django.request": {"handlers": ["server_errors"], "level": "WARNING"},
    },
}
