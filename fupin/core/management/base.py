"""A base for fupin commands: service errors become a Chinese message on stderr and a non-zero exit."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from fupin.core.errors import ImportRefused, ServiceError


class FupinCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ImportRefused as exc:
            raise CommandError(exc.report(limit=10_000), returncode=2) from exc
        except ServiceError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        except FileNotFoundError as exc:
            raise CommandError(_("File not found: %(name)s") % {"name": exc.filename}, returncode=2) from exc

    def system_actor(self):
        """Commands act as the named --user, else as 'system' (recorded by name in the audit trail)."""
        return "system"
