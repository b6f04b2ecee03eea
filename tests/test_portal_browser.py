"""The portal in a real browser (Debian's Chromium, headless, driven by Playwright), on both stores: a
principal signs in, searches, opens a thread and approves a held message, which then arrives downstream;
a guardian signs in and sees only their own child's conversations, and a link to another is 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from gateway.directory import Directory
from tests.conftest import PASSWORD, Downstream
from tests.portal import BROOKS, KIM, PRIYA, PortalRelay, started

CHROMIUM = Path("/usr/bin/chromium")
INSTALLED = CHROMIUM.exists()
# As this machine's probe runs it: no sandbox as root, and none of the background calls home that a
# closed network refuses.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
async def portal(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[PortalRelay]:
    async for running in started(tmp_path, downstream, directory):
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert INSTALLED, "Debian's chromium is not installed (.ci/run installs it)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(page: Page, portal: PortalRelay, email: str) -> None:
    await page.goto(f"{portal.base}/")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_principal_searches_opens_a_thread_and_approves_a_held_message(
    portal: PortalRelay, browser: Browser
) -> None:
    page = await browser.new_page()
    await sign_in(page, portal, BROOKS)
    await page.wait_for_url("**/portal/review")
    queue = page.get_by_role("table")
    await queue.get_by_role("link", name="Your essay").wait_for()
    assert "Science fair" not in await page.content()  # Lakeview's, not hers

    await page.get_by_role("link", name="Search").click()
    await page.get_by_label("Words").fill("bus")
    await page.get_by_role("button", name="Search").click()
    results = page.get_by_role("table")
    await results.get_by_role("link", name="Field trip").wait_for()
    assert await results.get_by_role("row").count() == 2  # the header and the one message

    await page.get_by_role("link", name="Review queue").click()
    await page.get_by_role("link", name="Your essay").click()
    await page.get_by_text("Don't tell your parents I helped.").wait_for()
    assert await page.locator("cite").count() >= 1  # the finding names the clause it enforces
    before = len(portal.downstream.received)
    await page.get_by_label("Comment (required)").fill("Checked with the family: fine.")
    await page.get_by_role("button", name="Approve").click()
    await page.get_by_text("Approved by abrooks@nusd.example.org").wait_for()
    await portal.downstream.wait_for(before + 1)
    assert any(KIM in r.rcpt_tos for r in portal.downstream.received[before:])


async def test_a_guardian_sees_only_their_childs_conversations(portal: PortalRelay, browser: Browser) -> None:
    page = await browser.new_page()
    await sign_in(page, portal, PRIYA)
    await page.wait_for_url("**/portal/search")
    rows = page.get_by_role("table").get_by_role("row")
    await page.get_by_role("link", name="Field trip").wait_for()
    assert await rows.count() == 2
    assert "Your essay" not in await page.content() and "Science fair" not in await page.content()
    await page.get_by_role("link", name="Field trip").click()
    await page.get_by_text("The bus leaves at seven.").wait_for()
    assert "Review" not in await page.get_by_role("navigation").inner_text()

    answer = await page.goto(f"{portal.base}/thread/{await other_thread(portal)}")
    assert answer is not None and answer.status == 404


async def other_thread(portal: PortalRelay) -> str:
    reviews = await portal.relay.store.reviews(["pending"])
    return reviews[0].message_id  # Kim's message began its own thread
