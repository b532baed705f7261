"""The nightly purge of what is past its retention period (fupin/privacy/retention.py)."""

from fupin.core.nightly import nightly_step


@nightly_step("privacy.retention", order=980)
def nightly_retention(**_kw) -> dict:
    from fupin.privacy.retention import purge

    return purge()
