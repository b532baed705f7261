"""Test settings: the same as development, with fast hashing and tasks run in-process."""

import os

os.environ.setdefault("FUPIN_DATA_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "fupin.core.filestore.EncryptedFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# a keyring generated for this test run (each xdist worker its own, with its own database): never a file in the tree
if not FUPIN_KEYS and not FUPIN_KEYS_FILE:  # noqa: F405
    import json as _json

    from fupin.core.crypto import generate_spec as _generate_spec

    FUPIN_KEYS = _json.dumps(_generate_spec(os.environ.get("FUPIN_CIPHER", "aes-256-gcm")))

# Each checkout may run its own suite against the same PostgreSQL server: FUPIN_TEST_DB_SUFFIX keeps them apart.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_fupin_{os.environ.get('FUPIN_TEST_DB_SUFFIX', 'main')}"}  # noqa: F405
