"""What the dashboards register at start-up: the registry's figures, the nightly refresh, and the watcher that marks
the figures stale after a change.

Every change in Fupin goes through a service that records an audit event, so the audit trail is the one place to
learn that figures changed: an event whose action starts with a prefix a figure provider watches schedules one
debounced refresh after its transaction commits (one per transaction, however many events it records).
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _

from fupin.core import extensions as ext
from fupin.core.models import AuditEvent
from fupin.core.nightly import nightly_step
from fupin.core.services import job_handler
from fupin.core.tasks import once_after_commit
from fupin.dashboards import registry_figures
from fupin.dashboards.figures import watched_prefixes

# the dashboard page's sections (a capability with figures of its own may add its section, see fupin/funds/hooks.py)
for _key, _title, _order in (("overview", _("Overview"), 0), ("registry", _("Poor households and people"), 10),
                             ("villages", _("Poor villages"), 20), ("lifecycle", _("Procedures"), 30),
                             ("assistance", _("Pairing and warnings"), 40), ("dispatch", _("Work orders"), 50),
                             ("quality", _("Data quality and comparison findings"), 60)):
    ext.register(ext.DashboardSection(key=_key, title=_title, order=_order))

# the registry's figures
ext.register(registry_figures.PROVIDER)
ext.register(registry_figures.INCIDENCE)


@nightly_step("dashboards.figures", order=900, on_change=True)
def nightly_refresh() -> dict:
    from fupin.dashboards.services import refresh_snapshots

    return refresh_snapshots(reason="nightly")


def _on_audit_event(sender, instance: AuditEvent, created: bool, **kwargs) -> None:
    if not created or not instance.action.startswith(watched_prefixes()):
        return
    reason = instance.action  # one mark per transaction: the first change's action is its reason

    def mark() -> None:
        from fupin.dashboards.services import mark_stale

        mark_stale(reason=reason)

    mark.marks_figures_stale = True  # type: ignore[attr-defined]
    once_after_commit(mark, key="dashboards.figures_stale")


post_save.connect(_on_audit_event, sender=AuditEvent, dispatch_uid="dashboards.figures_stale")


@job_handler("dashboards.refresh")
def refresh_job(job, progress) -> dict:
    from fupin.dashboards.services import refresh_snapshots

    progress(5, "正在重新计算看板数据")
    return refresh_snapshots(actor=job.actor, reason="manual")
