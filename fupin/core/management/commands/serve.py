"""Run the web server and the background worker together (what `make demo` and `make serve` call)."""

import os
import signal
import subprocess
import sys

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "启动网页服务和后台任务进程(开发与演示用;生产环境请用 gunicorn + db_worker)"

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--demo-password", default="", help="print the demo logins with this password")
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args, **opts):
        worker = None
        if not opts["no_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "fupin.cli", "db_worker", "--interval", "1", "--no-reload"],
                                      env={**os.environ})
            self.stdout.write(f"后台任务进程已启动(pid {worker.pid})")
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
            call_command("runserver", opts["addr"], use_reloader=False)
        finally:
            if worker and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
