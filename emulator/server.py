"""Serve an emulator's WSGI app over HTTPS on loopback, in a thread or in the foreground.

cheroot keeps connections alive (HTTP/1.1): a new TLS handshake per request would make every
call to the emulator cost more than the work behind it."""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from syncledger.emulator.request_log import RequestLog

# A CRM's emulator module exposes build_app(token, data) -> WSGI application.
AppBuilder = Callable[[str, dict[str, Any] | None], Any]
THREADS = 8


@dataclass(frozen=True)
class RunningEmulator:
    crm: str
    url: str
    token: str
    ca_cert: Path

    def banner(self) -> str:
        return json.dumps({"url": self.url, "token": self.token, "ca_cert": str(self.ca_cert)})


def _builder(crm: str) -> AppBuilder:
    if crm == "salesforce":
        from syncledger.emulator.salesforce.app import build_app as sf_build

        return sf_build
    if crm == "pipedrive":
        from syncledger.emulator.pipedrive.app import build_app as pd_build

        return pd_build
    raise ValueError(f"unknown CRM {crm!r}: expected salesforce or pipedrive")


class LoggedApp:
    """One request-log line per call on stderr, through a queue that never blocks a call."""

    def __init__(self, crm: str, app: Any, log: RequestLog) -> None:
        self.crm = crm
        self.app = app
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[str] = []

        def record_status(code: str, headers: Any, *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        body: Iterable[bytes] = self.app(environ, record_status)
        elapsed = (time.perf_counter() - started) * 1000
        path = environ.get("PATH_INFO", "")
        self.log.write(f"{self.crm} {environ.get('REQUEST_METHOD')} {path} "
                       f"{(status or ['?'])[0].split(' ')[0]} {elapsed:.1f}ms")
        return body


def _start(crm: str, port: int, data: dict[str, Any] | None, directory: Path,
           token: str | None, log: RequestLog | None) -> tuple[wsgi.Server, RunningEmulator]:
    from syncledger.emulator.tls import issue_loopback_certificate

    token = token or secrets.token_urlsafe(24)
    server_pem, ca_path = issue_loopback_certificate(directory)
    app = _builder(crm)(token, data)
    if log is not None:
        app = LoggedApp(crm, app, log)
    server = wsgi.Server(("127.0.0.1", port), app, numthreads=THREADS)
    server.ssl_adapter = BuiltinSSLAdapter(str(server_pem), str(server_pem))
    server.prepare()
    bound = server.bind_addr[1]
    url = f"https://127.0.0.1:{bound}"
    return server, RunningEmulator(crm=crm, url=url, token=token, ca_cert=ca_path)


@contextmanager
def running(crm: str, data: dict[str, Any] | None = None,
            token: str | None = None) -> Iterator[RunningEmulator]:
    """An emulator on a free loopback port for the duration of the block (tests, demo); it
    keeps no request log, which would only drown the caller's own output."""
    with tempfile.TemporaryDirectory(prefix=f"syncledger-{crm}-") as tmp:
        server, emulator = _start(crm, 0, data, Path(tmp), token, None)
        thread = threading.Thread(target=server.serve, name=f"{crm}-emulator", daemon=True)
        thread.start()
        try:
            yield emulator
        finally:
            server.stop()
            thread.join()


def serve_forever(crm: str, port: int, data: dict[str, Any] | None) -> None:
    """Foreground serving for `syncledger emulator serve`: the banner is the first stdout line,
    the request log goes to stderr."""
    directory = Path(tempfile.mkdtemp(prefix=f"syncledger-{crm}-"))
    server, emulator = _start(crm, port, data, directory, None, RequestLog())
    print(emulator.banner(), flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
