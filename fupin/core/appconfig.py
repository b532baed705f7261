"""What every Fupin app declares, so that adding a capability is one line in INSTALLED_APPS.

- `url_prefix`: where `<app>.urls` is mounted ("" for the root, None for no pages);
- `api_prefix`: where `<app>.api.router` is mounted under /api/v1/ (default: the app label);
- `nav`: left-navigation entries (label, path, capability, order[, roles]): shown to users who hold the capability
  and, if the entry names roles (fupin.accounts.choices' role groups), have one of them;
- `<app>.hooks` is imported at start-up: every registration of the app at the extension points
  (fupin/core/extensions.py: stats keys, nightly steps, job handlers, panels, map layers, figures ...).
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import AppConfig, apps


class FupinAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix: str | None = None
    api_prefix: str | None = None
    nav: list = []

    def ready(self) -> None:
        if find_spec(f"{self.name}.hooks") is not None:
            import_module(f"{self.name}.hooks")


def fupin_apps() -> list[FupinAppConfig]:
    return [a for a in apps.get_app_configs() if isinstance(a, FupinAppConfig)]


def nav_entries() -> list[tuple]:
    entries = [e for a in fupin_apps() for e in a.nav]
    return sorted(entries, key=lambda e: e[3])
