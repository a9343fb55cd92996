"""`connect salesforce --login` end to end against the emulator: the OAuth 2.0 web-server
flow with PKCE, the browser step driven by requests (it follows the authorize page's
redirect to our one-shot listener), the code redeemed with the verifier, the org connected."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from syncledger.adapters.credentials import load_credentials
from syncledger.adapters.event_store import SyncLedger
from syncledger.adapters.salesforce.oauth import LoginError, LoginRequest, login, login_url_for
from syncledger.commands.connect import login_salesforce, salesforce_client
from syncledger.domain.ids import integration_id
from syncledger.emulator.generate import generate_salesforce
from syncledger.emulator.server import RunningEmulator, running


@pytest.fixture(scope="module")
def salesforce() -> Iterator[RunningEmulator]:
    with running("salesforce", generate_salesforce(3, 3)) as emulator:
        yield emulator


def browser(emulator: RunningEmulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulator.ca_cert)
    return session


def request_for(emulator: RunningEmulator, port: int = 0) -> LoginRequest:
    return LoginRequest(login_url=emulator.url, port=port, ca_cert=str(emulator.ca_cert),
                        wait_seconds=30)


def test_login_connects_the_org_with_a_refreshable_session(sqlite_store: SyncLedger,
                                                           salesforce: RunningEmulator
                                                           ) -> None:
    visited: list[str] = []

    def follow(url: str) -> None:
        visited.append(url)
        # the emulator approves at once and redirects to the listener, as a browser would
        response = browser(salesforce).get(url, timeout=10)
        assert response.status_code == 200
        assert "you can close this window" in response.text

    connection = login_salesforce(sqlite_store, request_for(salesforce), "production",
                                  "tm-alice", follow)
    query = parse_qs(urlsplit(visited[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"][0].startswith("http://localhost:")
    assert query["redirect_uri"][0].endswith("/OauthRedirect")
    assert query["client_id"] == ["PlatformCLI"] and query["state"][0]
    assert connection.org_id.startswith("00D") and connection.user_id.startswith("005")
    assert sqlite_store.repository.get(integration_id("salesforce")).connected
    stored = load_credentials(sqlite_store.database, "salesforce")
    assert stored["refresh_token"] and stored["login_url"] == salesforce.url

    # the session it got refreshes through the login URL once it expires
    admin = browser(salesforce)
    admin.post(f"{salesforce.url}/__emulator__/faults", json={"expire_session": True},
               headers={"Authorization": f"Bearer {salesforce.token}"}).raise_for_status()
    client = salesforce_client(sqlite_store)
    assert client.describe("Lead")["name"] == "Lead"
    assert client.calls["auth"] == 1


def test_a_redirect_with_another_state_is_ignored(salesforce: RunningEmulator) -> None:
    def forged(url: str) -> None:
        redirect = browser(salesforce).get(url, allow_redirects=False, timeout=10)
        target = urlsplit(redirect.headers["Location"])
        query = {k: v[0] for k, v in parse_qs(target.query).items()}
        query["state"] = "someone-else"
        requests.get(f"http://localhost:{target.port}{target.path}?{urlencode(query)}",
                     timeout=10)

    with pytest.raises(LoginError, match="different state"):
        login(request_for(salesforce), forged)


def test_a_refused_login_says_why(salesforce: RunningEmulator) -> None:
    def refused(url: str) -> None:
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        state = parse_qs(urlsplit(url).query)["state"][0]
        requests.get(f"{redirect_uri}?error=access_denied&error_description=end-user+denied"
                     f"&state={state}", timeout=10)

    with pytest.raises(LoginError, match="access_denied: end-user denied"):
        login(request_for(salesforce), refused)


def test_a_wrong_client_redirect_fails_at_the_token_endpoint(salesforce: RunningEmulator
                                                             ) -> None:
    def elsewhere(url: str) -> None:
        # the code was issued for another redirect_uri: Salesforce refuses to redeem it
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        listener = query["redirect_uri"]
        query["redirect_uri"] = "http://localhost:1/OauthRedirect"
        location = browser(salesforce).get(
            f"{salesforce.url}/services/oauth2/authorize?{urlencode(query)}",
            allow_redirects=False, timeout=10).headers["Location"]
        requests.get(listener + "?" + urlsplit(location).query, timeout=10)

    with pytest.raises(LoginError, match="redirect_uri_mismatch"):
        login(request_for(salesforce), elsewhere)


def test_a_busy_port_is_named(salesforce: RunningEmulator) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LoginError, match=f"cannot listen on localhost:{port}"):
            login(request_for(salesforce, port=port), lambda url: None)


def test_login_hosts_by_environment() -> None:
    assert login_url_for("production", None) == "https://login.salesforce.com"
    assert login_url_for("sandbox", None) == "https://test.salesforce.com"
    assert login_url_for("sandbox", "https://127.0.0.1:9/") == "https://127.0.0.1:9"
