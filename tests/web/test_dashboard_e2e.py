"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright): the real
`newsvigil serve` over a database holding a replayed archive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.kafka_support import free_port, wait_until
from tests.support import REPO_ROOT, newsvigil

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("NEWSVIGIL_TEST_CHROMIUM", "/usr/bin/chromium")
# This machine's network is closed: Chromium's background connections would only fail and slow it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(replayed, tmp_path):
    """(base URL, token) of a real `newsvigil serve` on 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSVIGIL_")}
    env["NEWSVIGIL_DATABASE_URL"] = replayed
    token = (
        newsvigil("tokens", "add", "e2e", env={"NEWSVIGIL_DATABASE_URL": replayed}).stdout.split(": ", 1)[1].split()[0]
    )
    port = free_port()
    log = open(tmp_path / "serve.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "newsvigil.cli", "serve", "--port", str(port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, 60, "newsvigil serve to answer")
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`; make test does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # Playwright makes a fresh profile
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        page = context.new_page()
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        yield page
        browser.close()


def test_dashboard_shows_replayed_stories_and_plots(server, page, tmp_path):
    base, _ = server
    page.goto(base + "/")
    assert page.locator("ol.stories li.story").count() == 6
    page.get_by_role("link", name="Greenland's premier rejects new US offer").wait_for()
    assert page.locator("#reports-plot svg polyline.series").count() >= 2  # nato and greenland lines
    points = page.locator("#figures-plot svg a.figure circle")
    assert points.count() >= 5
    assert points.first.bounding_box()["width"] > 0  # rendered, not just present
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000

    page.locator("#figures-plot svg a.figure").first.click()
    page.wait_for_url("**/articles/**#m*")
    marked = page.locator("div.text mark")
    assert marked.count() >= 1 and any(ch.isdigit() for ch in marked.first.inner_text())

    page.goto(base + "/")
    page.select_option("select[name=topic]", "greenland")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**topic=greenland**")
    titles = page.locator("ol.stories a.title").all_inner_texts()
    assert titles and all("Greenland" in t or "Grønland" in t or "Groenland" in t for t in titles), titles

    page.goto(base + "/")
    page.get_by_role("link", name="USA ziehen rund 1.500 Soldaten aus Bayern ab").click()
    page.wait_for_url("**/stories/*")
    assert page.locator("ul.quotes mark").first.inner_text() == "rund 1.500 Soldaten"
    assert page.dialogs == []


def test_feed_content_cannot_run_script(server, page):
    base, _ = server
    page.goto(base + "/")
    page.get_by_text("NATO pulls 1,200 troops", exact=False).first.wait_for()
    page.goto(base + "/articles/hostile-1")
    assert "<script>" in page.locator("h1").inner_text()  # shown as text
    page.wait_for_timeout(300)
    assert page.dialogs == []  # no alert() ever ran
    assert page.locator("script").count() == 0


def test_sign_in_create_pause_and_delete_a_subscription(server, page):
    base, token = server
    page.goto(base + "/subscriptions")
    page.wait_for_url("**/login?next=/subscriptions")
    page.fill("input[name=token]", "nv_wrong")
    page.click("form.login button")
    assert "not valid" in page.locator("p.message").inner_text()
    page.fill("input[name=token]", token)
    page.click("form.login button")
    page.wait_for_url("**/subscriptions")

    form = page.locator("#new-subscription")
    form.locator("input[name=name]").fill("Arctic desk")
    form.locator("select[name=channel]").select_option("atom")
    form.locator("input[name=topics]").fill("greenland")
    form.locator("button").click()
    assert page.locator("#message").inner_text() == "subscription 1 added"
    secret = page.locator("#secret").inner_text()
    assert httpx.get(f"{base}/atom/{secret}").headers["content-type"].startswith("application/atom+xml")
    row = page.locator("#subscription-1")
    assert "Arctic desk" in row.inner_text() and "active" in row.inner_text()

    row.get_by_role("button", name="Pause").click()
    assert page.locator("#message").inner_text() == "subscription 1 paused"
    assert "paused" in page.locator("#subscription-1").inner_text()
    page.locator("#subscription-1").get_by_role("button", name="Test").click()
    assert page.locator("#message").inner_text() == "test alert to subscription 1: delivered"

    form.locator("input[name=name]").fill("bad")
    form.locator("select[name=channel]").select_option("webhook")
    form.locator("input[name=target]").fill("not a url")
    form.locator("button").click()
    assert page.locator("#message").inner_text().startswith("not added: target:")

    page.locator("#subscription-1").get_by_role("button", name="Delete").click()
    assert page.locator("#message").inner_text() == "subscription 1 deleted"
    assert page.locator("#subscription-1").count() == 0
    assert page.dialogs == []
