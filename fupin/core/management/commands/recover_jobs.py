"""Queue again the jobs a dead worker left running (run before the worker starts: systemd ExecStartPre)."""

from django.core.management.base import BaseCommand

from fupin.core.services import job_recover_interrupted


class Command(BaseCommand):
    help = "把后台任务进程中断时正在运行的任务重新排队(在启动后台任务进程之前运行)"

    def handle(self, *args, **opts):
        result = job_recover_interrupted()
        self.stdout.write(f"重新排队{result['requeued']}个任务,停止{result['failed']}个多次中断的任务")
