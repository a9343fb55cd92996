"""Sessions, the OAuth web-server flow with PKCE, API limits and seeded fault injection."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import simple_salesforce
from conftest import ALICE, Org
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceRefusedRequest

REDIRECT = "http://localhost:1717/OauthRedirect"


def pkce_login(org: Org, verifier: str | None = None) -> dict[str, str]:
    verifier = verifier or secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = org.http.get(org.url("/services/oauth2/authorize"), allow_redirects=False,
                            params={"response_type": "code", "client_id": "syncledger",
                                    "redirect_uri": REDIRECT, "state": "s-42",
                                    "code_challenge": challenge,
                                    "code_challenge_method": "S256"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s-42"]
    return {"code": query["code"][0], "verifier": verifier}


def redeem(org: Org, code: str, verifier: str) -> dict[str, str]:
    response = org.http.post(org.url("/services/oauth2/token"), data={
        "grant_type": "authorization_code", "code": code, "client_id": "syncledger",
        "redirect_uri": REDIRECT, "code_verifier": verifier})
    body: dict[str, str] = response.json()
    body["status"] = str(response.status_code)
    return body


def test_wrong_token_is_invalid_session(org: Org) -> None:
    response = org.api("GET", "/sobjects", token="nope")
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid",
                                "errorCode": "INVALID_SESSION_ID", "fields": []}]
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    missing = org.http.get(org.url("/services/data/v59.0/sobjects"))
    assert missing.status_code == 401


def test_pkce_flow_refresh_and_expired_session(org: Org) -> None:
    login = pkce_login(org)
    tokens = redeem(org, login["code"], login["verifier"])
    assert tokens["status"] == "200"
    assert tokens["instance_url"] == org.emu.url and tokens["token_type"] == "Bearer"
    assert {"access_token", "refresh_token", "id", "issued_at", "signature"} <= set(tokens)
    assert tokens["id"].endswith(f"/{ALICE}")
    sf = simple_salesforce.Salesforce(instance_url=tokens["instance_url"],
                                      session_id=tokens["access_token"], session=org.http)
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1
    info = org.http.get(org.url("/services/oauth2/userinfo"),
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info["user_id"] == ALICE and info["email"] == "alice@team.example"
    assert info["organization_id"].startswith("00D")

    org.admin("POST", "faults", {"expire_session": True})
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM Organization")
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    refreshed = org.http.post(org.url("/services/oauth2/token"), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": "syncledger"}).json()
    assert "refresh_token" not in refreshed and refreshed["instance_url"] == org.emu.url
    sf = simple_salesforce.Salesforce(instance_url=refreshed["instance_url"],
                                      session_id=refreshed["access_token"], session=org.http)
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1
    assert org.stats()["auth"] == 4     # authorize, token, userinfo, refresh


def test_pkce_checks_the_verifier_and_codes_are_single_use(org: Org) -> None:
    login = pkce_login(org)
    wrong = redeem(org, login["code"], "not-the-verifier-" + "x" * 40)
    assert wrong["status"] == "400" and wrong["error"] == "invalid_grant"
    login = pkce_login(org)
    assert redeem(org, login["code"], login["verifier"])["status"] == "200"
    again = redeem(org, login["code"], login["verifier"])
    assert again["error"] == "invalid_grant"
    bad = org.http.post(org.url("/services/oauth2/token"),
                        data={"grant_type": "refresh_token", "refresh_token": "nope"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_limit_info_and_daily_limit(org: Org) -> None:
    org.admin("POST", "faults", {"daily_limit": 3})
    for expected in (1, 2, 3):
        response = org.api("GET", "/query", params={"q": "SELECT Id FROM Lead"})
        assert response.headers["Sforce-Limit-Info"] == f"api-usage={expected}/3"
    refused = org.api("GET", "/query", params={"q": "SELECT Id FROM Lead"})
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    with pytest.raises(SalesforceRefusedRequest):
        org.sf.query("SELECT Id FROM Lead")
    org.admin("GET", "stats")   # admin calls are never counted nor refused
    assert org.stats()["total"] == 5


def test_limits_resource(org: Org) -> None:
    org.sf.query("SELECT Id FROM Lead")
    limits = org.api("GET", "/limits").json()
    assert limits["DailyApiRequests"]["Max"] - limits["DailyApiRequests"]["Remaining"] == 2


def run_with_faults(org: Org, seed: int) -> list[int]:
    org.admin("POST", "reset")
    org.admin("POST", "faults", {"error_rate": 0.4, "status": 503, "seed": seed})
    return [org.api("GET", "/query", params={"q": "SELECT Id FROM Lead"}).status_code
            for _ in range(30)]


def test_faults_are_deterministic_for_a_seed(org: Org) -> None:
    first = run_with_faults(org, seed=7)
    assert set(first) == {200, 503}
    assert run_with_faults(org, seed=7) == first
    assert run_with_faults(org, seed=8) != first
    failure = org.api("GET", "/query", params={"q": "SELECT Id FROM Lead"})
    while failure.status_code == 200:
        failure = org.api("GET", "/query", params={"q": "SELECT Id FROM Lead"})
    assert failure.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_rate_limit_and_latency(org: Org) -> None:
    org.admin("POST", "faults", {"rate_limit": 2, "latency_ms": 1})
    statuses = [org.api("GET", "/sobjects").status_code for _ in range(6)]
    assert 403 in statuses and 200 in statuses


def test_admin_routes_need_the_token(org: Org) -> None:
    response = org.http.get(org.url("/__emulator__/stats"),
                            headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    org.admin("POST", "faults", {"expire_session": True})
    assert org.admin("GET", "stats")["api_calls"]["total"] == 0


def test_unknown_routes_and_methods(org: Org) -> None:
    assert org.api("GET", "/nothing/here").status_code == 404
    assert org.api("PUT", "/sobjects/Lead").status_code == 405
    assert org.http.get(org.url("/services/data")).json()[0]["version"] == "59.0"
