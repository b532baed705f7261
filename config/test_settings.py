"""Test settings: the same as development, with fast hashing and tasks run in-process."""

import os

os.environ.setdefault("FUPIN_DATA_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

# Each checkout may run its own suite against the same PostgreSQL server: FUPIN_TEST_DB_SUFFIX keeps them apart.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_fupin_{os.environ.get('FUPIN_TEST_DB_SUFFIX', 'main')}"}  # noqa: F405
