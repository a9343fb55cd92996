"""Serve an emulator's WSGI app over HTTPS on loopback, in a thread or in the foreground."""

from __future__ import annotations

import json
import logging
import secrets
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

# A CRM's emulator module exposes build_app(token, data) -> WSGI application.
AppBuilder = Callable[[str, dict[str, Any] | None], Any]


@dataclass(frozen=True)
class RunningEmulator:
    crm: str
    url: str
    token: str
    ca_cert: Path

    def banner(self) -> str:
        return json.dumps({"url": self.url, "token": self.token, "ca_cert": str(self.ca_cert)})


class KeepAliveHandler(WSGIRequestHandler):
    # HTTP/1.1 keeps connections open: a TLS handshake per request would dominate.
    protocol_version = "HTTP/1.1"


def _builder(crm: str) -> AppBuilder:
    if crm == "salesforce":
        from syncledger.emulator.salesforce.app import build_app as sf_build

        return sf_build
    if crm == "pipedrive":
        from syncledger.emulator.pipedrive.app import build_app as pd_build

        return pd_build
    raise ValueError(f"unknown CRM {crm!r}: expected salesforce or pipedrive")


def _start(crm: str, port: int, data: dict[str, Any] | None, directory: Path,
           token: str | None) -> tuple[BaseWSGIServer, RunningEmulator]:
    from syncledger.emulator.tls import server_context

    token = token or secrets.token_urlsafe(24)
    context, ca_path = server_context(directory)
    app = _builder(crm)(token, data)
    server = make_server("127.0.0.1", port, app, threaded=True, ssl_context=context,
                         request_handler=KeepAliveHandler)
    url = f"https://127.0.0.1:{server.server_port}"
    return server, RunningEmulator(crm=crm, url=url, token=token, ca_cert=ca_path)


@contextmanager
def running(crm: str, data: dict[str, Any] | None = None,
            token: str | None = None) -> Iterator[RunningEmulator]:
    """An emulator on a free loopback port for the duration of the block (tests, demo)."""
    # In-process (tests, the demo) the request log would drown the caller's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix=f"syncledger-{crm}-") as tmp:
        server, emulator = _start(crm, 0, data, Path(tmp), token)
        thread = threading.Thread(target=server.serve_forever, name=f"{crm}-emulator",
                                  daemon=True)
        thread.start()
        try:
            yield emulator
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def serve_forever(crm: str, port: int, data: dict[str, Any] | None) -> None:
    """Foreground serving for `syncledger emulator serve`: the banner is the first stdout line."""
    directory = Path(tempfile.mkdtemp(prefix=f"syncledger-{crm}-"))
    server, emulator = _start(crm, port, data, directory, None)
    print(emulator.banner(), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()
