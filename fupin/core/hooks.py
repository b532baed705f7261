"""What core itself registers: the audit trail's nightly sealing and archiving, and the retention check."""

from django.conf import settings
from django.core import checks

from fupin.core.nightly import nightly_step


@nightly_step("core.audit", order=990)
def nightly_audit(**_kw) -> dict:
    """Seal what is left unsealed, then archive events past the retention period (at least 180 days)."""
    from fupin.core import audit_chain

    sealed = audit_chain.seal_pending()
    return {"sealed": sealed, **audit_chain.archive_expired()}


@checks.register(checks.Tags.security)
def audit_retention_check(app_configs=None, **_kw):
    from fupin.core.audit_chain import MIN_RETENTION_DAYS

    days = getattr(settings, "FUPIN_AUDIT_RETENTION_DAYS", 365)
    if days < MIN_RETENTION_DAYS:
        return [checks.Error(f"FUPIN_AUDIT_RETENTION_DAYS={days}: audit events must be kept at least "
                             f"{MIN_RETENTION_DAYS} days", id="fupin.E001")]
    return []


@checks.register()
def extensions_check(app_configs=None, **_kw):
    """Panel templates exist, indicators' figures and figures' sections are registered (fupin/core/extensions.py)."""
    from fupin.core.extensions import check

    return check(app_configs)


@checks.register(checks.Tags.security)
def keyring_check(app_configs=None, **_kw):
    """The encryption keys load (fupin/core/crypto.py): a missing or broken key file stops `fupin check`."""
    from fupin.core import crypto

    try:
        crypto.keyring()
    except crypto.KeyringError as exc:
        return [checks.Error(f"encryption keys: {exc}", id="fupin.E020")]
    return []
