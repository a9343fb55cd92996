"""The web view through Flask's test client, over a store synced against the Salesforce
emulator (conftest): each page, its paging and filters, the headers, the token rule, the
Prometheus exposition, and a forgotten person shown as nothing but [forgotten]."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from integration.web.web_support import World
from prometheus_client.parser import text_string_to_metric_families

from syncledger.adapters.event_store import SyncLedger
from syncledger.commands import views
from syncledger.commands.session import caught_up
from syncledger.commands.web.app import create_app
from syncledger.commands.web.security import BindRefused, check_bind, token_for
from syncledger.commands.web.server import WebServer

SECRETS = ("secret.person@example.com", "Secret", "Hidden", "hidden.failure")


@pytest.fixture
def client(world: World) -> FlaskClient:
    return create_app(world.app).test_client()


def text(page: bytes) -> str:
    """What a reader sees: the page without tags, spaces folded."""
    body = re.sub(r"<head>.*?</head>|<svg.*?</svg>", " ", page.decode(), flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def main(page: bytes) -> list[str]:
    """The words of the page's own content (without the header and footer)."""
    found = re.search(r"<main>(.*)</main>", page.decode(), flags=re.S)
    assert found is not None
    return text(found.group(1).encode()).split()


def test_runs_page_lists_runs_newest_first_with_outcome_duration_calls_and_counts(
        client: FlaskClient, world: World) -> None:
    response = client.get("/runs")
    assert response.status_code == 200
    page = response.data.decode()
    table = page[page.index('<tbody id="runs-body">'):]
    order = [table.index(f"/runs/{run}") for run in (world.third, world.second, world.first)]
    assert order == sorted(order)
    runs = {r["run_id"]: r for r in views.logs(caught_up(world.app), None)}
    first = runs[world.first]
    assert first["outcome"] == "partial"
    assert first["duration_seconds"] is not None and first["duration_seconds"] > 0
    shown = text(response.data)
    assert f"{world.first} salesforce partial {first['duration_seconds']:.1f} s " \
           f"{first['api_calls_total']} 3 0 1 1" in shown
    assert "1 × missing required field Company" in shown
    assert "people 2/0/0/0" in shown and "leads 1/0/1/1" in shown
    # The chart: one bar a run, the partial one marked, each linking to its run.
    svg = re.search(r"<svg.*?</svg>", page, flags=re.S)
    assert svg is not None
    assert svg.group().count('class="bar ') == 3
    assert svg.group().count('class="mark partial"') == 2
    assert f'href="/runs/{world.first}"' in svg.group()


def test_runs_filters_by_outcome_step_crm_and_date(client: FlaskClient, world: World) -> None:
    partial = client.get("/runs?outcome=partial").data.decode()
    assert f"/runs/{world.first}" in partial and f"/runs/{world.second}" not in partial
    assert world.third in client.get("/runs?step=People+to+Leads").data.decode()
    assert "No run matches these filters" in text(client.get("/runs?step=No+such").data)
    assert "No run matches" in text(client.get("/runs?crm=pipedrive").data)
    assert world.first in client.get("/runs?since=2026-11-20&until=2026-11-20").data.decode()
    assert "No run matches" in text(client.get("/runs?since=2026-11-21").data)
    bad = client.get("/runs?since=yesterday")
    assert bad.status_code == 400 and "is not a date" in text(bad.data)


def test_runs_are_paged_by_key_and_htmx_gets_only_the_rows(world: World) -> None:
    client = create_app(world.app, page=2).test_client()
    first = client.get("/runs").data.decode()
    assert world.third in first and world.second in first and world.first not in first
    more = re.search(r'<a href="([^"]+)" hx-get="([^"]+)"', first)
    assert more is not None
    link = more.group(1).replace("&amp;", "&")
    assert "after=" in link and "offset" not in link
    rest = client.get(link).data.decode()
    assert world.first in rest and world.third not in rest and "More runs" not in rest
    rows = client.get(more.group(2).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert rows.data.decode().lstrip().startswith("<tr") and world.first in rows.data.decode()
    assert "<html" not in rows.data.decode()


def test_a_run_shows_each_record_it_decided_with_errors_reasons_and_links(
        client: FlaskClient, world: World) -> None:
    response = client.get(f"/runs/{world.first}")
    assert response.status_code == 200
    shown = text(response.data)
    assert "INVALID_EMAIL_ADDRESS Email: invalid email address: broken@localhost " \
           "People to Leads p-2" in shown
    assert "1 missing required field Company" in shown
    assert "leads create p-1 Lead 00Q" in shown
    assert "Lead.Company empty → 'Acct1'" in shown
    assert "leads failed p-2 Lead INVALID_EMAIL_ADDRESS" in shown
    assert "people create sf-contact-003000000000001AAA Contact 003000000000001AAA" in shown
    page = response.data.decode()
    assert re.search(r'href="https://127\.0\.0\.1:\d+/lightning/r/Contact/003000000000001AAA/'
                     r'view"', page)
    assert 'href="/people/p-1"' in page
    only = text(client.get(f"/runs/{world.first}?kind=leads&action=failed").data)
    assert "p-2" in only and "p-1 Lead" not in only and "Records decided 1 matching" in only


def test_a_run_shows_the_field_diffs_of_an_update(client: FlaskClient, world: World) -> None:
    shown = text(client.get(f"/runs/{world.second}").data)
    assert "people update sf-contact-003000000000001AAA" in shown
    assert "last_name 'Last1' → 'Newname'" in shown
    assert client.get("/runs/nosuchrun").status_code == 404


def test_a_person_found_by_email_app_id_or_crm_id(client: FlaskClient) -> None:
    for key in ("person1@example.com", "p-1", "PERSON1@example.com"):
        response = client.get(f"/people?q={key}")
        assert response.status_code == 302 and response.location.endswith("/people/p-1")
    linked = client.get("/people?q=003000000000001AAA")
    assert linked.location.endswith("/people/sf-contact-003000000000001AAA")
    missing = client.get("/people?q=nobody@example.com")
    assert missing.status_code == 404 and "no person found" in text(missing.data)


def test_a_person_page_shows_fields_links_and_the_trail_with_cause_and_actor(
        client: FlaskClient, world: World) -> None:
    response = client.get("/people/p-1")
    shown = text(response.data)
    assert "P1 Person1 p-1" in shown and "email person1@example.com" in shown
    assert "title CTO" in shown and "owner tm-alice" in shown
    assert "salesforce Lead 00Q" in shown
    assert re.search(r"PersonRecorded import:\w+ tm-alice", shown)
    assert f"PersonLinked run:{world.first} tm-alice" in shown
    assert f'href="/runs/{world.first}"' in response.data.decode()
    assert response.headers["Cache-Control"] == "no-store"


def test_explain_says_in_words_where_a_value_came_from(client: FlaskClient,
                                                      world: World) -> None:
    page = text(client.get("/people/sf-contact-003000000000001AAA/explain?field=last_name").data)
    assert "last_name = 'Newname'" in page
    assert "recorded with 'Last1'" in page
    assert "changed from 'Last1' to 'Newname'" in page and f"run:{world.second}" in page
    fragment = client.get("/people/p-1/explain?field=fields.title&fragment=1",
                          headers={"HX-Request": "true"}).data.decode()
    assert "<html" not in fragment and "fields.title = 'CTO'" in text(fragment.encode())
    assert client.get("/people/p-1/explain?field=shoe_size").status_code == 400


def test_a_forgotten_person_shows_forgotten_and_nothing_else(client: FlaskClient,
                                                            world: World) -> None:
    for url in ("/people/p-4", "/people/p-4/explain?field=first_name",
                "/people/p-4?after=1"):
        response = client.get(url)
        assert response.status_code == 200
        assert main(response.data) == ["[forgotten]"], url
    for url in ("/people/p-4", f"/runs/{world.third}", "/runs", "/metrics",
                "/people/p-4/explain?field=email", "/integration"):
        body = client.get(url).data.decode()
        assert not any(secret in body for secret in SECRETS), url
    run = text(client.get(f"/runs/{world.third}").data)
    assert "leads failed [forgotten] Lead INVALID_EMAIL_ADDRESS" in run
    assert "INVALID_EMAIL_ADDRESS [forgotten] People to Leads p-5" in run


def test_the_integration_page_shows_configuration_history_status_and_verify(
        client: FlaskClient, world: World) -> None:
    shown = text(client.get("/integration").data)
    assert "connected to org 00D" in shown and "integration enabled, default profile" in shown
    assert 'crm = "salesforce"' in shown and "People to Leads on app.people" in shown
    assert re.search(r"IntegrationConnected config:\w+ tm-alice", shown)
    assert "verifying every seal" in shown  # filled in by htmx
    seals = text(client.get("/integration/verify").data)
    assert re.search(r"\d+ seals over \d+ events verified head [0-9a-f]{64}", seals)
    assert views.verify(world.app, lambda _: None).head in seals


def test_metrics_are_prometheus_text(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.data.decode())}
    runs = {s.labels["outcome"]: s.value for s in families["syncledger_runs"].samples}
    assert runs == {"partial": 2, "succeeded": 1}
    records = {(s.labels["kind"], s.labels["result"]): s.value
               for s in families["syncledger_records"].samples if s.name.endswith("_total")}
    assert records[("leads", "created")] == 2 and records[("leads", "failed")] == 2
    assert records[("people", "updated")] == 1
    assert families["syncledger_api_calls"].samples[0].value > 0
    assert families["syncledger_last_success_timestamp_seconds"].samples[0].value > 0
    counts = {s.name: s.value for s in families["syncledger_run_duration_seconds"].samples}
    assert counts["syncledger_run_duration_seconds_count"] == 3
    assert counts["syncledger_run_duration_seconds_sum"] > 0


def test_every_answer_carries_the_security_headers_and_only_get_is_served(
        client: FlaskClient) -> None:
    for url in ("/runs", "/people/p-1", "/metrics", "/static/htmx.min.js", "/nothing"):
        with client.get(url) as response:
            headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
    assert client.get("/people/p-1").headers["Cache-Control"] == "no-store"
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/runs").status_code == 405
    page = client.get("/runs").data.decode()
    assert "<script>" not in page and " style=" not in page and "onclick" not in page
    assert '<script src="/static/htmx.min.js" defer></script>' in page
    with client.get("/static/htmx.min.js") as script:
        assert script.data.startswith(b"var htmx=")
        assert "no-store" not in script.headers.get("Cache-Control", "")


def test_on_loopback_only_a_loopback_host_is_answered(client: FlaskClient) -> None:
    assert client.get("/runs", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/runs", headers={"Host": "[::1]:8765"}).status_code == 200
    # A name rebound to 127.0.0.1 by someone else's DNS is not this server's.
    assert client.get("/runs", headers={"Host": "evil.example:8765"}).status_code == 421


def test_off_loopback_a_token_is_required_then_kept_in_a_cookie(world: World) -> None:
    client = create_app(world.app, token="s3cret").test_client()
    assert client.get("/runs").status_code == 403
    assert client.get("/runs?token=wrong").status_code == 403
    assert client.get("/metrics").status_code == 403
    given = client.get("/runs?token=s3cret&outcome=partial")
    assert given.status_code == 303 and given.location == "/runs?outcome=partial"
    cookie = given.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/runs").status_code == 200  # the cookie now
    scraper = create_app(world.app, token="s3cret").test_client()
    assert scraper.get("/metrics", headers={"Authorization": "Bearer s3cret"}
                       ).status_code == 200


def test_a_non_loopback_bind_gets_a_token_and_none_is_refused(world: World) -> None:
    assert token_for("127.0.0.1") is None and token_for("::1") is None
    assert token_for("localhost") is None
    made = token_for("0.0.0.0")
    assert made is not None and len(made) >= 40 and made != token_for("0.0.0.0")
    with pytest.raises(BindRefused, match="not a loopback address"):
        check_bind("0.0.0.0", None)
    check_bind("127.0.0.1", None)
    server = WebServer(world.app, "0.0.0.0", 0)
    assert server.token is not None
    assert server.app.test_client().get("/runs").status_code == 403


def test_a_new_store_answers_every_page(sqlite_store: SyncLedger) -> None:
    client = create_app(sqlite_store).test_client()
    assert "No run matches" in text(client.get("/runs").data)
    assert "not connected" in text(client.get("/integration").data)
    assert "0 seals over 0 events verified" in text(client.get("/integration/verify").data)
    assert client.get("/people").status_code == 200
    assert client.get("/people/p-1").status_code == 404
    assert client.get("/runs/nosuchrun").status_code == 404
    assert "syncledger_runs" in client.get("/metrics").data.decode()
