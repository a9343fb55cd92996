"""Serving the site with cheroot (a threaded WSGI server, already a dependency)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from cheroot import wsgi
from flask import Flask

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands.web.app import create_app
from syncledger.commands.web.security import BindRefused, check_bind, is_loopback, token_for


class WebServer:
    """The site on (bind, port); port 0 takes a free one."""

    def __init__(self, store: SyncLedger, bind: str = "127.0.0.1", port: int = 8765,
                 token: str | None = None) -> None:
        self.bind = bind
        self.token = token_for(bind, token)
        check_bind(bind, self.token)
        self.app: Flask = create_app(store, self.token)
        self.server = wsgi.Server((bind, port), self.app, numthreads=4,
                                  server_name="syncledger")
        self._thread: threading.Thread | None = None

    def prepare(self) -> None:
        """Bind the socket (an address in use fails here, before anything is printed)."""
        try:
            self.server.prepare()
        except OSError as error:
            raise BindRefused(f"cannot listen on {self.bind}: {error.strerror or error}"
                              ) from None

    @property
    def url(self) -> str:
        host, port = self.server.bind_addr[:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        """Serve in a thread (tests, and anything that embeds the site)."""
        self.prepare()
        self._thread = threading.Thread(target=self.server.serve, name="syncledger-web",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)


def serve(store: SyncLedger, bind: str, port: int, say: Callable[[str], None]) -> None:
    """Serve until interrupted, saying once where (with the token, off loopback)."""
    server = WebServer(store, bind, port)
    server.prepare()
    if server.token is None:
        say(f"syncledger web: {server.url} (read-only; Ctrl-C stops)")
    else:
        say(f"syncledger web: {server.url}?token={server.token}")
        say("  the token is printed only this once; it is needed from every browser")
    if not is_loopback(bind):
        say(f"  listening on {bind}: anyone who can reach this address and has the token "
            "can read the log's personal data")
    sys.stdout.flush()  # the address (and token) now, not when the buffer fills
    try:
        server.server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.stop()
