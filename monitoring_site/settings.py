"""Settings for the monitoring site, all read from the environment (SPEC §1).

Defaults are safe for a laptop: SQLite under data/monitoring/, DEBUG on, console email.
Production settings (secure cookies, HSTS, …) switch on with DEBUG off.
"""
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from monitoring_site.database import database_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# --- Core ---------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is false (see .env.example)"
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "monitoring_site",
    "predictions",
    "alerting",
    "dashboard",
    "legacy",
    "access",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "monitoring_site.urls"
WSGI_APPLICATION = "monitoring_site.wsgi.application"

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
                "alerting.context_processors.monitor_heartbeat",
                "dashboard.context_processors.page_refresh",
            ],
        },
    },
]

# --- Database: DATABASE_URL, else the legacy MONITORING_DB_* variables, else SQLite ---
DATABASES = {"default": database_config(env, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The predictions' covering index (model_version, timestamp) INCLUDE (…) serves PostgreSQL;
# SQLite keeps its key columns and said so on every first migrate (models.W040), which a
# new user read as something to fix. There is nothing to fix.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Auth, i18n, static files ---------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# One way to write a time, pages and admin alike: "2026-12-01 21:14 UTC" (24 h, UTC).
FORMAT_MODULE_PATH = ["monitoring_site.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Cache: the API throttle counts here (shared by every worker only if the cache is) -----
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns anonymous requests into 401, not 403.
    # The same token is accepted as "Bearer <key>" (what most HTTP clients send).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "monitoring_site.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "monitoring_site.api.permissions.ReadAuthenticatedWriteModelPerms",
        # After the access check: an unknown query parameter is a 400 naming it.
        "monitoring_site.api.query.KnownQueryParameters",
    ],
    # JSON bodies only, with the types the OpenAPI document states.
    "DEFAULT_PARSER_CLASSES": ["monitoring_site.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "monitoring_site.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": ["monitoring_site.api.filters.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "monitoring_site.api.schema.TaggedAutoSchema",
    "EXCEPTION_HANDLER": "monitoring_site.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["monitoring_site.api.throttling.TokenWriteThrottle"],
    # Writes by token-authenticated clients; empty = unthrottled.
    "DEFAULT_THROTTLE_RATES": {"token_write": env.str("API_WRITE_THROTTLE", default="") or None},
    "DEFAULT_PAGINATION_CLASS": "monitoring_site.api.pagination.PagePagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Model monitoring API",
    "DESCRIPTION": "Ingest predictions and outcomes, read true metrics, manage alerts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Assets come from drf-spectacular-sidecar so the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from validator.swagger.io: the docs page makes no request off the site.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Operations grouped by tag, ingestion first (monitoring_site.api.schema.TAG_RULES).
    "TAGS": [
        {"name": "ingestion", "description": "Send predictions, their outcomes and pushed "
         "metrics (model services: the role ingest)."},
        {"name": "predictions", "description": "Read stored predictions."},
        {"name": "metrics", "description": "True metrics from predictions and outcomes, "
         "series, pushed metrics and health snapshots."},
        {"name": "alerts", "description": "Alerts: list, acknowledge, resolve, statistics."},
        {"name": "rules", "description": "Alert rules, their preview and statistics, and "
         "values pushed to a rule."},
        {"name": "silences", "description": "Silences that mute notifications for a while."},
        {"name": "registry", "description": "Model versions, promotions, retraining "
         "decisions."},
        {"name": "drift", "description": "Feature drift reports."},
        {"name": "actions", "description": "The approval queue of automated actions."},
        {"name": "api", "description": "The API root: every endpoint by name."},
    ],
    # Request bodies get their own components: no read-only fields, minLength on required
    # text, so a generated client sends what the API accepts.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "monitoring_site.api.schema.strict_inputs",
        "monitoring_site.api.schema.declare_error_answers",
    ],
    # Several models have a "status" or "stage": give each choice set its own name.
    "ENUM_NAME_OVERRIDES": {
        "AlertStatusEnum": "alerting.choices.AlertStatus",
        "ActionStatusEnum": "alerting.choices.ActionStatus",
        "DeliveryStatusEnum": "alerting.choices.DeliveryStatus",
        "MetricStatusEnum": "predictions.choices.MetricStatus",
        "StageEnum": "predictions.choices.Stage",
        "SeverityEnum": "alerting.choices.Severity",
    },
}

# --- Monitoring -----------------------------------------------------------------------
MONITORING_ALERT_LOG = env.str(
    "MONITORING_ALERT_LOG", default=str(BASE_DIR / "data" / "monitoring" / "alert_log.txt")
)
MONITORING_MAX_BATCH = env.int("MONITORING_MAX_BATCH", default=10000)
# An ingested item (prediction, outcome, pushed metric) with a key the API does not know is
# a 400 naming it; false ignores unknown keys instead (SPEC §11).
MONITORING_INGEST_STRICT = env.bool("MONITORING_INGEST_STRICT", default=True)
MONITORING_DEGRADATION_PCT = env.float("MONITORING_DEGRADATION_PCT", default=5.0)
# Fewest labelled predictions for a window (or a baseline) to judge degradation by (§9).
MONITORING_DEGRADATION_MIN_SAMPLES = env.int("MONITORING_DEGRADATION_MIN_SAMPLES", default=30)
MONITORING_DEFAULT_WINDOW_MINUTES = env.int("MONITORING_DEFAULT_WINDOW_MINUTES", default=60)
# A rule preview without a version replays the busiest versions of its range, up to this.
MONITORING_PREVIEW_MAX_VERSIONS = env.int("MONITORING_PREVIEW_MAX_VERSIONS", default=25)
# Seconds between monitor passes (run_monitor's default; `dev.py serve` runs it); pages and
# /healthz call the monitor late after three intervals without a pass.
MONITORING_MONITOR_INTERVAL_SECONDS = env.float("MONITORING_MONITOR_INTERVAL_SECONDS", default=60.0)
# Seconds between the self-refreshes of the dashboard, a version's page and the alert list
# (while the tab is visible and not paused; static/js/refresh.js). 0: never.
MONITORING_PAGE_REFRESH_SECONDS = env.int("MONITORING_PAGE_REFRESH_SECONDS", default=60)
# Delivery retries: attempts before giving up, and the base of the exponential backoff.
MONITORING_DELIVERY_MAX_ATTEMPTS = env.int("MONITORING_DELIVERY_MAX_ATTEMPTS", default=8)
MONITORING_DELIVERY_BACKOFF_SECONDS = env.int("MONITORING_DELIVERY_BACKOFF_SECONDS", default=30)
MONITORING_CHANNEL_TIMEOUT_SECONDS = env.float("MONITORING_CHANNEL_TIMEOUT_SECONDS", default=5.0)

# --- Drift (SPEC §8) ------------------------------------------------------------------
MONITORING_DRIFT_REFERENCE_DAYS = env.int("MONITORING_DRIFT_REFERENCE_DAYS", default=7)
MONITORING_DRIFT_PSI = env.float("MONITORING_DRIFT_PSI", default=0.2)
MONITORING_DRIFT_PVALUE = env.float("MONITORING_DRIFT_PVALUE", default=0.05)
MONITORING_DRIFT_SHARE = env.float("MONITORING_DRIFT_SHARE", default=0.5)
MONITORING_DRIFT_SAMPLE = env.int("MONITORING_DRIFT_SAMPLE", default=50000)
MONITORING_DRIFT_MIN_ROWS = env.int("MONITORING_DRIFT_MIN_ROWS", default=100)

# --- Segments (SPEC §13): where a model fails ----------------------------------------
# Fewest labelled rows for a segment to be named among a performance alert's worst.
MONITORING_SEGMENT_MIN_SAMPLES = env.int("MONITORING_SEGMENT_MIN_SAMPLES", default=20)
# Keys an alert's worst segments look at: those of the window's newest rows, at most this many.
MONITORING_SEGMENT_MAX_KEYS = env.int("MONITORING_SEGMENT_MAX_KEYS", default=20)

# --- Email: EMAIL_URL, else the legacy ALERT_EMAIL_* variables, else the console --------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="monitoring@localhost")
ALERT_EMAIL_RECIPIENTS = env.list("ALERT_EMAIL_RECIPIENTS", default=[])
EMAIL_TIMEOUT = 10
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
elif env.bool("ALERT_EMAIL_ENABLED", default=False):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("ALERT_EMAIL_SMTP_SERVER", default="localhost")
    EMAIL_PORT = env.int("ALERT_EMAIL_SMTP_PORT", default=587)
    EMAIL_HOST_USER = env.str("ALERT_EMAIL_SENDER", default="")
    EMAIL_HOST_PASSWORD = env.str("ALERT_EMAIL_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("ALERT_EMAIL_USE_TLS", default=True)
    if EMAIL_HOST_USER:
        DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=EMAIL_HOST_USER)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Slack ----------------------------------------------------------------------------
ALERT_SLACK_BOT_TOKEN = env.str("ALERT_SLACK_BOT_TOKEN", default="")
ALERT_SLACK_CHANNEL = env.str("ALERT_SLACK_CHANNEL", default="")
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api")

# --- The tools teams already run (SPEC §11) ---------------------------------------------
# The site's public address: links in Alertmanager, PagerDuty and webhook notices.
MONITORING_SITE_URL = env.str("MONITORING_SITE_URL", default="http://localhost:8000")
# Bearer token Prometheus sends to scrape /metrics; empty: /metrics answers 404.
MONITORING_METRICS_TOKEN = env.str("MONITORING_METRICS_TOKEN", default="")
ALERTMANAGER_URL = env.str("ALERTMANAGER_URL", default="")
PAGERDUTY_EVENTS_URL = env.str(
    "PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue"
)
PAGERDUTY_ROUTING_KEY = env.str("PAGERDUTY_ROUTING_KEY", default="")
# Signs webhook POSTs (X-Monitoring-Signature) unless the rule has its own webhook_secret.
MONITORING_WEBHOOK_SECRET = env.str("MONITORING_WEBHOOK_SECRET", default="")

# --- Production hardening (on when DEBUG is off) ----------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe /healthz, and Prometheus scrapes /metrics, over plain HTTP inside
    # the network (a redirect would not protect the scrape's token: it is already sent).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# --- Logging: alerts' console channel and the monitor write here -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
