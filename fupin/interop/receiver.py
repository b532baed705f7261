"""A small HTTP receiver on 127.0.0.1 for tests, benchmarks and trying webhooks out: it verifies each delivery's
signature, deduplicates on the event id (as a real receiver should) and can be told to fail.

Also a fake SMS gateway (`FakeSmsGateway`) answering like a provider: {"code": "OK", "msgid": ...}.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fupin.interop import signing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Base:
    def __init__(self, port: int = 0) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as most receivers
            disable_nagle_algorithm = True  # headers and body go out at once (no delayed-ACK stall)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = owner.handle(dict(self.headers.items()), body, self.path)
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def handle(self, headers: dict, body: bytes, path: str) -> tuple[int, dict]:
        raise NotImplementedError

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver(_Base):
    """Records every request; `fail(n)` answers 500 to the next n requests (or `behaviour(payload)` decides)."""

    def __init__(self, secret: str, port: int = 0, behaviour: Callable[[dict], int] | None = None) -> None:
        super().__init__(port)
        self.secret = secret
        self.behaviour = behaviour
        self.requests: list[dict] = []  # every request: headers, payload, valid signature
        self.seen: dict[str, dict] = {}  # event id → payload, first receipt only (the deduplicated stream)
        self.order: list[str] = []  # event ids in order of first receipt
        self._fail = 0

    def fail(self, n: int) -> None:
        self._fail = n

    def handle(self, headers: dict, body: bytes, path: str) -> tuple[int, dict]:
        h = {k.lower(): v for k, v in headers.items()}
        valid = signing.verify(self.secret, h.get(signing.HEADER_TIMESTAMP.lower(), ""), body,
                               h.get(signing.HEADER_SIGNATURE.lower(), ""))
        payload = json.loads(body or b"{}")
        with self.lock:
            self.requests.append({"headers": h, "payload": payload, "valid": valid})
            if not valid:
                return 401, {"error": "bad signature"}
            if self._fail > 0:
                self._fail -= 1
                return 500, {"error": "try later"}
            if self.behaviour is not None:
                status = self.behaviour(payload)
                if status >= 300:
                    return status, {"error": "refused"}
            eid = h.get(signing.HEADER_EVENT_ID.lower(), "")
            if eid in self.seen:
                return 200, {"duplicate": True}
            self.seen[eid] = payload
            self.order.append(eid)
        return 200, {"ok": True}


class FakeSmsGateway(_Base):
    """Answers like an SMS provider: {"code": "OK", "msgid": "..."}; `fail(n)` answers 500, `refuse(n)` answers
    {"code": "isv.MOBILE_NUMBER_ILLEGAL"}."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.received: list[dict] = []
        self._fail = 0
        self._refuse = 0

    def fail(self, n: int) -> None:
        self._fail = n

    def refuse(self, n: int) -> None:
        self._refuse = n

    def handle(self, headers: dict, body: bytes, path: str) -> tuple[int, dict]:
        with self.lock:
            if self._fail > 0:
                self._fail -= 1
                return 500, {"code": "ServiceUnavailable"}
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = {"raw": body.decode("utf-8", "replace")}
            self.received.append({"headers": headers, "body": data})
            if self._refuse > 0:
                self._refuse -= 1
                return 200, {"code": "isv.MOBILE_NUMBER_ILLEGAL"}
            return 200, {"code": "OK", "msgid": f"fake-{len(self.received)}"}
