"""Settings for Fupin, chosen by environment.

With no environment set, development settings apply: DEBUG on, a SQLite database in FUPIN_DATA_DIR (default var/).
FUPIN_ENV=production turns DEBUG off and requires a real FUPIN_SECRET_KEY.
DATABASE_URL (sqlite:///path or postgres://...) selects the database for every command.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = os.environ.get("FUPIN_ENV", "development")
PRODUCTION = ENV == "production"
DATA_DIR = Path(os.environ.get("FUPIN_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = not PRODUCTION and os.environ.get("FUPIN_DEBUG", "1") != "0"
SECRET_KEY = os.environ.get("FUPIN_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("FUPIN_SECRET_KEY must be set when FUPIN_ENV=production")
    SECRET_KEY = "dev-only-not-secret-" + "x" * 40
elif PRODUCTION and (len(SECRET_KEY) < 40 or SECRET_KEY.startswith("dev-only")):
    raise ImproperlyConfigured("FUPIN_SECRET_KEY is too weak for production (at least 40 characters)")

ALLOWED_HOSTS = [h for h in os.environ.get("FUPIN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("FUPIN_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "fupin.core.apps.CoreConfig",
    "fupin.accounts.apps.AccountsConfig",
    "fupin.geo.apps.GeoConfig",
    "fupin.org.apps.OrgConfig",
    "fupin.inbox.apps.InboxConfig",
    "fupin.registry.apps.RegistryConfig",
    "fupin.lifecycle.apps.LifecycleConfig",
    "fupin.exchange.apps.ExchangeConfig",
    "fupin.eligibility.apps.EligibilityConfig",
    "fupin.assistance.apps.AssistanceConfig",
    "fupin.dispatch.apps.DispatchConfig",
    "fupin.surveys.apps.SurveysConfig",
    "fupin.quality.apps.QualityConfig",
    "fupin.maps.apps.MapsConfig",
    "fupin.dashboards.apps.DashboardsConfig",
    "fupin.interop.apps.InteropConfig",
    "fupin.demo.apps.DemoConfig",
    "fupin.web.apps.WebConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fupin.web.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fupin.core.middleware.SecurityHeadersMiddleware",
    "fupin.core.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fupin.web.context.shell",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"


def _database_from_url(url: str) -> dict:
    db = dj_database_url.parse(url, conn_max_age=0 if url.startswith("sqlite") else 60)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server read while the worker writes; IMMEDIATE avoids lock upgrades failing mid-transaction.
        db["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    return db


DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'fupin.sqlite3'}"
DATABASES = {"default": _database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["fupin.accounts.backends.LockoutModelBackend"]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
FUPIN_LOCKOUT_ATTEMPTS = int(os.environ.get("FUPIN_LOCKOUT_ATTEMPTS", "5"))
FUPIN_LOCKOUT_MINUTES = int(os.environ.get("FUPIN_LOCKOUT_MINUTES", "15"))

SESSION_COOKIE_AGE = int(os.environ.get("FUPIN_SESSION_SECONDS", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = os.environ.get("FUPIN_HTTPS", "1") == "1"
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "fupin" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "fupin" / "static"]
MEDIA_ROOT = DATA_DIR / "files"
MEDIA_URL = "/files/"
FUPIN_EXPORT_DIR = DATA_DIR / "exports"
FUPIN_RAW_DIR = DATA_DIR / "raw"
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Background work: django-tasks with the database backend; `fupin db_worker` runs the queue.
TASKS = {"default": {"BACKEND": os.environ.get("FUPIN_TASK_BACKEND", "django_tasks_db.DatabaseBackend")}}

# Base map: vector layers only by default (works offline); a tile URL template when the network allows.
FUPIN_TILE_URL = os.environ.get("FUPIN_TILE_URL", "")
FUPIN_TILE_ATTRIBUTION = os.environ.get("FUPIN_TILE_ATTRIBUTION", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FUPIN_LOG_LEVEL", "WARNING")},
    "loggers": {"fupin": {"level": os.environ.get("FUPIN_LOG_LEVEL", "INFO")}},
}


# Connections to other systems (webhook retry settings, the SMS gateway): a JSON file, so that the gateway's
# credentials stay out of the code. See docs/interop.md.
FUPIN_INTEROP: dict = {}
if os.environ.get("FUPIN_INTEROP_CONFIG"):
    import json as _json

    with open(os.environ["FUPIN_INTEROP_CONFIG"], encoding="utf-8") as _fh:
        FUPIN_INTEROP = _json.load(_fh)
