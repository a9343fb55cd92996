"""Salesforce's OAuth 2.0 web-server flow with PKCE, as a desktop tool runs it: the
authorize URL (code_challenge S256, state), the browser, a one-shot listener on
http://localhost:1717/OauthRedirect that receives the code and checks the state, then the
authorization_code grant with the code_verifier."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from syncledger.adapters.crm_errors import CrmFatal, CrmRetryable
from syncledger.adapters.salesforce.client import SalesforceCredentials

# The Salesforce CLI's public connected app and callback, which orgs already allow.
DEFAULT_CLIENT_ID = "PlatformCLI"
DEFAULT_PORT = 1717
REDIRECT_PATH = "/OauthRedirect"
LOGIN_URLS = {"production": "https://login.salesforce.com",
              "sandbox": "https://test.salesforce.com"}
WAIT_SECONDS = 300.0


class LoginError(CrmFatal):
    """The login did not complete: refused, wrong state, nothing arrived, port taken."""


@dataclass(frozen=True)
class LoginRequest:
    login_url: str
    client_id: str = DEFAULT_CLIENT_ID
    port: int = DEFAULT_PORT  # 0: any free port (tests)
    ca_cert: str | None = None
    wait_seconds: float = WAIT_SECONDS


def login_url_for(environment: str, given: str | None) -> str:
    return (given or LOGIN_URLS[environment]).rstrip("/")


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, its S256 code_challenge), RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(login_url: str, client_id: str, redirect_uri: str, challenge: str,
                  state: str) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id,
                       "redirect_uri": redirect_uri, "code_challenge": challenge,
                       "code_challenge_method": "S256", "state": state,
                       "scope": "api refresh_token"})
    return f"{login_url}/services/oauth2/authorize?{query}"


class RedirectListener:
    """Answers one request on the redirect path, then stops."""

    def __init__(self, port: int) -> None:
        received: dict[str, str] = {}
        done = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                if parts.path != REDIRECT_PATH:
                    self.send_error(404)
                    return
                received.update({k: v[0] for k, v in parse_qs(parts.query).items()})
                ok = "code" in received
                body = ("syncledger: connected, you can close this window." if ok else
                        "syncledger: the login did not complete; see the terminal.").encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                done.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the terminal shows what matters; the query holds the code

        try:
            self.server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as error:
            raise LoginError(f"cannot listen on localhost:{port} for the login redirect "
                             f"({error.strerror}): another login may be running") from None
        self.received = received
        self.done = done
        self.thread = threading.Thread(target=self._serve, name="oauth-redirect",
                                       daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.server.server_port}{REDIRECT_PATH}"

    def _serve(self) -> None:
        while not self.done.is_set():
            self.server.handle_request()

    def __enter__(self) -> RedirectListener:
        self.server.timeout = 0.2
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()
        self.server.server_close()

    def wait(self, seconds: float) -> dict[str, str]:
        if not self.done.wait(seconds):
            raise LoginError(f"no login arrived at {self.redirect_uri} within "
                             f"{seconds:.0f} seconds")
        return dict(self.received)


def login(request: LoginRequest, open_browser: Callable[[str], Any]) -> SalesforceCredentials:
    """Run the flow; `open_browser(url)` shows the authorize page (webbrowser.open, or a
    test's function that follows it with requests)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    with RedirectListener(request.port) as listener:
        url = authorize_url(request.login_url, request.client_id, listener.redirect_uri,
                            challenge, state)
        open_browser(url)
        answer = listener.wait(request.wait_seconds)
    if "error" in answer:
        raise LoginError(f"Salesforce refused the login: {answer['error']}: "
                         f"{answer.get('error_description', '')}")
    if not secrets.compare_digest(answer.get("state", ""), state):
        raise LoginError("the login redirect carried a different state: it did not come "
                         "from this login, so it was ignored")
    return _redeem(request, answer["code"], verifier, listener.redirect_uri)


def _redeem(request: LoginRequest, code: str, verifier: str,
            redirect_uri: str) -> SalesforceCredentials:
    session = requests.Session()
    session.trust_env = False
    session.verify = request.ca_cert or True
    try:
        response = session.post(f"{request.login_url}/services/oauth2/token", data={
            "grant_type": "authorization_code", "code": code, "client_id": request.client_id,
            "redirect_uri": redirect_uri, "code_verifier": verifier}, timeout=30)
    except requests.RequestException as error:
        raise CrmRetryable(f"the Salesforce token endpoint did not answer: "
                           f"{type(error).__name__}") from None
    finally:
        session.close()
    if response.status_code != 200:
        try:
            body = response.json()
        except ValueError:
            body = {}
        raise LoginError(f"Salesforce refused the authorization code ({response.status_code}"
                         f"): {body.get('error', '')} {body.get('error_description', '')}"
                         .rstrip())
    token = response.json()
    return SalesforceCredentials(instance_url=str(token["instance_url"]).rstrip("/"),
                                 access_token=str(token["access_token"]),
                                 refresh_token=token.get("refresh_token"),
                                 client_id=request.client_id, login_url=request.login_url,
                                 ca_cert=request.ca_cert)
