"""Background tasks (django-tasks): one generic runner for Job rows."""

from django_tasks import task


@task()
def run_job(job_id: int) -> None:
    from fupin.core.services import job_run

    job_run(job_id)

