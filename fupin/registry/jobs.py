"""Background jobs of the registry: the roster import started from the web (/households/import/)."""

from __future__ import annotations

from pathlib import Path

from fupin.core.errors import ImportRefused
from fupin.core.models import Job
from fupin.core.services import job_handler

IMPORT_ROSTER = "registry.import_roster"


@job_handler(IMPORT_ROSTER)
def run_import_roster(job: Job, progress) -> dict:
    """Import the uploaded roster; a refused file is a finished job whose result holds the row-by-row report."""
    from fupin.registry.importer import import_roster

    params = job.params
    path = Path(params["path"])
    user = job.actor
    try:
        result = import_roster(actor=user or "system", path=path, dry_run=bool(params.get("dry_run")),
                               scope_user=user, progress=progress)
    except ImportRefused as exc:
        progress(100, exc.headline)
        return {"status": "refused", "report": exc.report(limit=1000), "headline": exc.headline,
                "problems": [{"row": p.row, "column": p.column, "value": str(p.value), "problem": p.problem}
                             for p in exc.problems[:5000]],
                "problem_count": len(exc.problems), "file": params.get("name", path.name)}
    finally:
        if params.get("delete_after"):
            path.unlink(missing_ok=True)
    return {"status": "dry_run" if result.dry_run else "imported", "report": result.report(limit=1000),
            "summary": result.summary(), "batch_id": result.batch_id, "file": params.get("name", path.name),
            "problems": [{"row": p.row, "column": p.column, "value": str(p.value), "problem": p.problem,
                          "kind": p.kind, "poor_code": p.poor_code} for p in result.problems[:1000]],
            "url": f"/households/problems/?batch={result.batch_id}" if result.batch_id else ""}
