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
    "fupin.funds.apps.FundsConfig",
    "fupin.surveys.apps.SurveysConfig",
    "fupin.quality.apps.QualityConfig",
    "fupin.assessment.apps.AssessmentConfig",
    "fupin.maps.apps.MapsConfig",
    "fupin.dashboards.apps.DashboardsConfig",
    "fupin.privacy.apps.PrivacyConfig",
    "fupin.mobile.apps.MobileConfig",
    "fupin.interop.apps.InteropConfig",
    "fupin.demo.apps.DemoConfig",
    "fupin.web.apps.WebConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "fupin.core.middleware.BadRequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fupin.web.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fupin.core.middleware.SecurityHeadersMiddleware",
    "fupin.core.middleware.LoginRequiredMiddleware",
    "fupin.accounts.middleware.SessionGuardMiddleware",
    "fupin.core.middleware.FullIdViewMiddleware",
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
# Password policy (fupin/accounts/passwords.py): every number is a setting.
FUPIN_PASSWORD_MIN_LENGTH = int(os.environ.get("FUPIN_PASSWORD_MIN_LENGTH", "10" if PRODUCTION else "8"))
FUPIN_PASSWORD_CLASSES = int(os.environ.get("FUPIN_PASSWORD_CLASSES", "3"))
FUPIN_PASSWORD_HISTORY = int(os.environ.get("FUPIN_PASSWORD_HISTORY", "5"))
FUPIN_PASSWORD_MAX_AGE_DAYS = int(os.environ.get("FUPIN_PASSWORD_MAX_AGE_DAYS", "90" if PRODUCTION else "0"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": FUPIN_PASSWORD_MIN_LENGTH}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "fupin.accounts.passwords.ComplexityValidator"},
    {"NAME": "fupin.accounts.passwords.HistoryValidator"},
]
FUPIN_LOCKOUT_ATTEMPTS = int(os.environ.get("FUPIN_LOCKOUT_ATTEMPTS", "5"))
FUPIN_LOCKOUT_MINUTES = int(os.environ.get("FUPIN_LOCKOUT_MINUTES", "15"))
# Sign-in: a second factor (TOTP) for these roles ("superuser" = superusers); sessions end after idle minutes and at
# the absolute age above, and are bound to the browser that signed in.
FUPIN_2FA_REQUIRED_ROLES = tuple(r for r in os.environ.get(
    "FUPIN_2FA_REQUIRED_ROLES", "superuser,city_office,auditor" if PRODUCTION else "").split(",") if r)
FUPIN_SESSION_IDLE_SECONDS = int(os.environ.get("FUPIN_SESSION_IDLE_SECONDS", "1800"))
# Retention periods in days per kind of record (fupin/privacy/retention.py); 0 keeps forever.
FUPIN_RETENTION_DAYS = {
    "replaced_snapshots": int(os.environ.get("FUPIN_RETENTION_SNAPSHOTS_DAYS", "730")),
    "raw_files": int(os.environ.get("FUPIN_RETENTION_RAW_FILES_DAYS", "1095")),
    "ended_sessions": int(os.environ.get("FUPIN_RETENTION_SESSIONS_DAYS", "180")),
}
# Exports of people's data (fupin/core/exportlog.py): rate per user per hour, and approval above a number of people
# or (when set) for any export with full ID numbers.
FUPIN_EXPORT_RATE_PER_HOUR = int(os.environ.get("FUPIN_EXPORT_RATE_PER_HOUR", "30"))
FUPIN_EXPORT_APPROVAL_PEOPLE = int(os.environ.get("FUPIN_EXPORT_APPROVAL_PEOPLE", "5000"))
FUPIN_EXPORT_APPROVAL_FULL_IDS = os.environ.get("FUPIN_EXPORT_APPROVAL_FULL_IDS", "0") == "1"
# Every page or API answer that shows full ID numbers is recorded in the audit trail (one event per request).
FUPIN_AUDIT_FULL_ID_VIEWS = os.environ.get("FUPIN_AUDIT_FULL_ID_VIEWS", "1") == "1"
# Audit events are kept in the database this long, then archived to checksummed files (at least 180 days: 等保 2.0).
FUPIN_AUDIT_RETENTION_DAYS = int(os.environ.get("FUPIN_AUDIT_RETENTION_DAYS", "365"))

SESSION_COOKIE_AGE = int(os.environ.get("FUPIN_SESSION_SECONDS", str(8 * 3600)))
# a phone signs in once and syncs with a device token until it expires (or is revoked)
FUPIN_DEVICE_TOKEN_DAYS = int(os.environ.get("FUPIN_DEVICE_TOKEN_DAYS", "180"))
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
    if SESSION_COOKIE_SECURE:  # served over HTTPS (usually behind nginx, which sets X-Forwarded-Proto)
        SECURE_HSTS_SECONDS = int(os.environ.get("FUPIN_HSTS_SECONDS", str(365 * 24 * 3600)))
        SECURE_HSTS_INCLUDE_SUBDOMAINS = True
        SECURE_HSTS_PRELOAD = True
        SECURE_SSL_REDIRECT = os.environ.get("FUPIN_SSL_REDIRECT", "1") == "1"
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        SECURE_REDIRECT_EXEMPT = [r"^healthz"]

# Encryption at rest (fupin/core/crypto.py, docs/personal-information.md): the keyring lives outside the database, in a
# key file (FUPIN_KEYS_FILE) or the environment (FUPIN_KEYS, the same JSON). Production refuses to start without one;
# development and the demo generate FUPIN_DATA_DIR/keys/fupin-keys.json on first use. FUPIN_CIPHER is the cipher of a
# generated key (aes-256-gcm or sm4-gcm).
FUPIN_KEYS = os.environ.get("FUPIN_KEYS", "")
FUPIN_KEYS_FILE = os.environ.get("FUPIN_KEYS_FILE", "")
FUPIN_KEYS_REQUIRED = PRODUCTION
FUPIN_CIPHER = os.environ.get("FUPIN_CIPHER", "aes-256-gcm")
if PRODUCTION and not (FUPIN_KEYS or FUPIN_KEYS_FILE):
    raise ImproperlyConfigured("FUPIN_KEYS_FILE (or FUPIN_KEYS) must be set when FUPIN_ENV=production")
if PRODUCTION and FUPIN_KEYS_FILE and not Path(FUPIN_KEYS_FILE).is_file():
    raise ImproperlyConfigured(f"FUPIN_KEYS_FILE does not exist: {FUPIN_KEYS_FILE}")
STORAGES = {
    "default": {"BACKEND": "fupin.core.filestore.EncryptedFileSystemStorage"},
    # production: hashed names and compressed copies (fupin/core/staticstorage.py), served by whitenoise
    "staticfiles": {"BACKEND": "fupin.core.staticstorage.StaticStorage" if PRODUCTION
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

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
# The comparison's engine (docs/scale.md): duckdb (in-process) or spark (pyspark, `make setup-spark`); a Spark
# master URL (spark://host:7077, yarn, k8s://...) or local[*] when empty; Spark's folder (its encrypted local dir).
FUPIN_ENGINE = os.environ.get("FUPIN_ENGINE", "duckdb")
FUPIN_SPARK_MASTER = os.environ.get("FUPIN_SPARK_MASTER", "")
FUPIN_SPARK_STAGING = os.environ.get("FUPIN_SPARK_STAGING", "")
# The Spark driver's heap (local mode: the whole engine's), and the most seconds one Spark step (linkage, rule
# evaluation) may take before its jobs are cancelled and the run fails (0: no bound; a dead JVM fails at once).
FUPIN_SPARK_DRIVER_MEMORY = os.environ.get("FUPIN_SPARK_DRIVER_MEMORY", "2g")
FUPIN_SPARK_TIMEOUT = float(os.environ.get("FUPIN_SPARK_TIMEOUT", "0"))
# further Spark settings of the session ({"spark.executor.memory": "8g", ...}), over the engine's own
FUPIN_SPARK_CONF: dict[str, str] = {}
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
# Uploaded files (fupin/core/uploads.py): size, unpacked size and shape limits, refused with a Chinese message.
FUPIN_UPLOAD_MAX_BYTES = int(os.environ.get("FUPIN_UPLOAD_MAX_MB", "50")) * 1024 * 1024
FUPIN_UPLOAD_MAX_UNCOMPRESSED = int(os.environ.get("FUPIN_UPLOAD_MAX_UNCOMPRESSED_MB", "400")) * 1024 * 1024
FUPIN_UPLOAD_MAX_RATIO = 100

# The comparison's DuckDB engine (docs/scale.md): DuckDB's memory limit (beyond it, it spills to FUPIN_DUCKDB_TEMP),
# threads (0: as many as cores), residual records and registry persons per prediction pass, and the largest block
# (record × person pairs under one blocking key) a linkage run compares before the skew guard splits or skips it.
FUPIN_DUCKDB_MEMORY = os.environ.get("FUPIN_DUCKDB_MEMORY", "1GB")
FUPIN_DUCKDB_TEMP = Path(os.environ.get("FUPIN_DUCKDB_TEMP", DATA_DIR / "duckdb_tmp"))
FUPIN_DUCKDB_THREADS = int(os.environ.get("FUPIN_DUCKDB_THREADS", "0"))
# DuckDB's limit while it evaluates the rules (empty: FUPIN_DUCKDB_MEMORY): at 10x the run's highest was there, with
# DuckDB at its 1 GB limit beside the rules' Python side (docs/scale.md; docs/performance.md, hpeak)
FUPIN_DUCKDB_RULES_MEMORY = os.environ.get("FUPIN_DUCKDB_RULES_MEMORY", "640MB")
FUPIN_PREDICT_CHUNK = int(os.environ.get("FUPIN_PREDICT_CHUNK", "1000000"))
FUPIN_PREDICT_PERSONS = int(os.environ.get("FUPIN_PREDICT_PERSONS", "4000000"))
FUPIN_MAX_BLOCK = int(os.environ.get("FUPIN_MAX_BLOCK", "2000000"))
# The pair budget of a blocking rule (docs/scale.md, "The pair budget"): a rule that would compare more than
# FUPIN_PAIR_BUDGET pairs per record to match (and more than FUPIN_PAIR_BUDGET_FLOOR pairs in all) is split by a
# chain of secondary keys (year of birth else town, town, sex); 0 turns it off. 10: the measured 1x county's two
# large rules compare 5.9 and 7.7 pairs per record (docs/performance.md, "The pair budget ...").
FUPIN_PAIR_BUDGET = float(os.environ.get("FUPIN_PAIR_BUDGET", "10"))
FUPIN_PAIR_BUDGET_FLOOR = int(os.environ.get("FUPIN_PAIR_BUDGET_FLOOR", "1000000"))
# From this many links a comparison writes them before it evaluates the rules instead of beside them
# (eligibility/services.py `_LinksAlongside`; docs/scale.md, "The links' write and the rules at scale"): beside the
# rules, the links' plan and the write's own memory add to the rules' highest. At 10x (2.35 million links) the write
# beside the rules stayed within 2 GB (docs/performance.md, hover) but saved about 3 s of wall for about 14 more CPU
# seconds (both on 2 cores; lead's runs after hover): first, from a million links. 0: always beside.
FUPIN_LINKS_FIRST_FROM = int(os.environ.get("FUPIN_LINKS_FIRST_FROM", "1000000"))
FUPIN_UPLOAD_MAX_ROWS = int(os.environ.get("FUPIN_UPLOAD_MAX_ROWS", "300000"))
FUPIN_UPLOAD_MAX_COLUMNS = 500
FUPIN_UPLOAD_MAX_MERGED_RANGES = 20_000
FILE_UPLOAD_HANDLERS = [
    "fupin.core.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
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
