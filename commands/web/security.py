"""Who may read the site, and the headers every answer carries.

On a loopback address only this machine's users reach the server, as with the CLI on the
same store; the Host header must then name loopback too, so a web page elsewhere cannot
reach the server through a DNS name rebound to 127.0.0.1. Any other address needs the
token printed once at start (like a notebook server): given as `?token=`, it is swapped
for a cookie and the address without it; `Authorization: Bearer TOKEN` serves scrapers."""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlencode

from flask import Flask, Request, Response, redirect, request
from flask.typing import ResponseReturnValue

COOKIE = "syncledger_token"
LOOPBACK_NAMES = ("localhost",)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class BindRefused(ValueError):
    """A bind the server will not start on."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_for(bind: str, token: str | None = None) -> str | None:
    """The token the server requires on this bind: None on loopback, else the one given
    or a new one. A non-loopback bind without the token mechanism is refused."""
    if is_loopback(bind):
        return token
    return token or secrets.token_urlsafe(32)


def check_bind(bind: str, token: str | None) -> None:
    if not is_loopback(bind) and not token:
        raise BindRefused(f"--bind {bind} is not a loopback address: the site would be "
                          "open to the network without a token; refusing to start")


def install(app: Flask, token: str | None) -> None:
    """Refuse what is not a read, check the token or the Host, and set the headers."""

    @app.before_request
    def guard() -> ResponseReturnValue | None:
        if request.method not in ("GET", "HEAD"):
            return Response("read-only: only GET\n", 405, {"Allow": "GET, HEAD"})
        if token is None:
            if not is_loopback(_host_name(request.host or "")):
                return Response("this server answers only to a loopback Host\n", 421)
            return None
        given = request.args.get("token")
        if given is not None and secrets.compare_digest(given, token):
            response = redirect(_without_token(request), 303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                                secure=request.is_secure)
            return response
        if _carries(request, token):
            return None
        return Response("a token is required: open the address the server printed at "
                        "start (it ends in ?token=...)\n", 403)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            # People's names, emails and histories: never kept by a browser or a proxy.
            response.headers["Cache-Control"] = "no-store"
        return response


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: `[::1]:8765` -> `::1`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _carries(req: Request, token: str) -> bool:
    cookie = req.cookies.get(COOKIE)
    if cookie is not None and secrets.compare_digest(cookie, token):
        return True
    auth = req.headers.get("Authorization", "")
    return auth.startswith("Bearer ") and secrets.compare_digest(auth[7:], token)


def _without_token(req: Request) -> str:
    args = [(k, v) for k, values in req.args.lists() for v in values if k != "token"]
    return req.path + (f"?{urlencode(args)}" if args else "")
