"""Run the web server and the background worker together.

`serve` (what `make demo` and `make serve` call) runs Django's development server; `serve --production` runs gunicorn
with several workers (static files from whitenoise after collectstatic). In both, the background worker (db_worker) is
watched and started again whenever it exits: a worker that died on "database is locked" no longer leaves later jobs
queued for ever. Under systemd (docs/deployment.md) the worker is its own service with Restart=always instead.
"""

import os
import signal
import subprocess
import sys
import threading
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

WORKER_CMD = [sys.executable, "-m", "fupin.cli", "db_worker", "--interval", "1", "--no-reload"]


class WorkerSupervisor:
    """Keeps one db_worker process alive: started again (after a short pause) whenever it exits."""

    def __init__(self, write, cmd: list[str] | None = None, pause: float = 2.0):
        self.write = write
        self.cmd = cmd or WORKER_CMD
        self.pause = pause
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fupin-worker-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        try:  # no worker is running now: what the last one left running is queued again
            from fupin.core.services import job_recover_interrupted

            result = job_recover_interrupted()
            if result["requeued"] or result["failed"]:
                self.write(f"中断的任务:重新排队{result['requeued']}个,停止{result['failed']}个")
        except Exception as exc:  # a locked or unreachable database must not keep the worker from starting
            self.write(f"检查中断的任务时出错:{exc}")
        finally:
            from django.db import connection

            connection.close()
        self.proc = subprocess.Popen(self.cmd, env={**os.environ})  # noqa: S603 - our own interpreter and module
        self.write(f"后台任务进程已启动(pid {self.proc.pid})")

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            if self.proc is not None and self.proc.poll() is not None:
                code = self.proc.returncode
                if self._stop.wait(self.pause):
                    return
                self.restarts += 1
                self.write(f"后台任务进程已退出(代码 {code}),正在重新启动(第{self.restarts}次)")
                self._spawn()

    def stop(self) -> None:
        self._stop.set()
        proc = self.proc
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "启动网页服务和后台任务进程(--production:gunicorn 多进程 + 静态文件;后台任务进程退出后自动重启)"

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--demo-password", default="", help="print the demo logins with this password")
        parser.add_argument("--no-worker", action="store_true")
        parser.add_argument("--production", action="store_true", help="gunicorn with several workers")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("FUPIN_WEB_WORKERS", "0")) or None,
                            help="gunicorn worker processes (default 2 × CPU + 1)")

    def handle(self, *args, **opts):
        # A service manager stops us with SIGTERM: end like Ctrl+C, so gunicorn and the worker are stopped too
        # (the default action would leave both running without their supervisor).
        signal.signal(signal.SIGTERM, _interrupt)
        supervisor = None
        if not opts["no_worker"]:
            supervisor = WorkerSupervisor(self.stdout.write)
            supervisor.start()
        demo = list(get_user_model().objects.filter(username__startswith="demo_").order_by("username")
                    .values_list("username", "role"))
        self.stdout.write(self.style.SUCCESS(f"\n扶贫平台已启动: http://{opts['addr']}/"))
        if demo:
            pw = opts["demo_password"] or "(seed_demo 时设定的密码)"
            self.stdout.write("演示账号(用户名 / 密码):")
            for username, role in demo:
                self.stdout.write(f"  {username:<24} {pw}   {role or 'superuser'}")
        self.stdout.write("按 Ctrl+C 停止。\n")
        try:
            if opts["production"]:
                self._gunicorn(opts)
            else:
                call_command("runserver", opts["addr"], use_reloader=False)
        finally:
            if supervisor:
                supervisor.stop()

    def _gunicorn(self, opts) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        workers = opts["workers"] or 2 * (os.cpu_count() or 1) + 1
        cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", opts["addr"],
               "--workers", str(workers), "--timeout", "120", "--graceful-timeout", "30",
               "--max-requests", "5000", "--max-requests-jitter", "500", "--access-logfile", "-"]
        self.stdout.write(f"gunicorn:{workers}个进程")
        proc = subprocess.Popen(cmd, env={**os.environ})  # noqa: S603 - our own interpreter and module
        try:
            while proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
