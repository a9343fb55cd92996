"""The web view in a real browser: Debian's chromium, driven by Playwright, against the real
server on a loopback port, over a store synced against the Salesforce emulator. It opens
the Runs page, clicks into a run, a person and an explanation, checks what a reader sees,
and saves a screenshot of each page under the test's tmp dir.

Without chromium (or Playwright) the test is skipped, except in CI (CI=true), where .ci/run
installs chromium: there a missing browser fails the test."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from integration.web.web_support import World

from syncledger.commands.web.server import WebServer

CHROMIUM = Path("/usr/bin/chromium")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture
def page(world: World) -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    server = WebServer(world.app, "127.0.0.1", 0)
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=["--no-sandbox"])
            context = browser.new_context(base_url=server.url,
                                          viewport={"width": 1400, "height": 1000})
            tab = context.new_page()
            problems: list[str] = []
            # A CSP violation or a script error shows in the console: none is expected.
            tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: problems.append(str(e)))
            yield tab
            assert problems == []
            context.close()
            browser.close()
    finally:
        server.stop()


def test_a_reader_goes_from_the_runs_to_a_run_a_person_and_an_explanation(
        page: Any, world: World, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/runs$"))
    expect(page.locator("h1")).to_have_text("Runs")
    rows = page.locator("#runs-body tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(world.third)
    expect(rows.last).to_contain_text("partial")
    expect(page.locator("svg.chart .bar")).to_have_count(3)
    page.screenshot(path=tmp_path / "runs.png", full_page=True)

    # htmx filters in place: only the partial runs stay.
    page.select_option("select[name=outcome]", "partial")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/runs\?.*outcome=partial"))  # pushed by htmx
    page.locator("#runs-body").get_by_role("link", name=world.first).click()

    expect(page.locator("h1")).to_contain_text(f"Run {world.first}")
    expect(page.locator("h1 .badge")).to_have_text("partial")
    expect(page.locator("table.errors")).to_contain_text("INVALID_EMAIL_ADDRESS")
    lead = page.locator("table.records tr", has_text="p-1")
    expect(lead).to_contain_text("create")
    expect(lead).to_contain_text("Lead.Company empty → 'Acct1'")
    contact = page.locator("table.records tr", has_text="003000000000001AAA")
    expect(contact.locator("a[href*='/lightning/r/Contact/003000000000001AAA/view']")
           ).to_be_visible()
    page.screenshot(path=tmp_path / "run.png", full_page=True)

    lead.get_by_role("link", name="p-1").click()
    expect(page.locator("h1")).to_contain_text("P1 Person1")
    expect(page.locator("dl.facts")).to_contain_text("person1@example.com")
    expect(page.locator("table.history")).to_contain_text(f"run:{world.first}")
    expect(page.locator("table.history")).to_contain_text("tm-alice")

    page.select_option("select[name=field]", "fields.title")
    page.get_by_role("button", name="Explain").click()
    story = page.locator("#explanation .story")
    expect(story).to_contain_text("fields.title = 'CTO'")
    expect(story).to_contain_text("recorded with 'CTO'")
    expect(page).to_have_url(re.compile(r"/people/p-1$"))  # fetched in place, by htmx
    page.screenshot(path=tmp_path / "person.png", full_page=True)

    page.get_by_role("link", name="Integration").click()
    expect(page.locator("#verify")).to_contain_text("seals over")
    expect(page.locator("#verify code.hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.screenshot(path=tmp_path / "integration.png", full_page=True)

    page.fill("header input[name=q]", "p-4")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_have_text("[forgotten]")
    for name in ("runs", "run", "person", "integration"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
