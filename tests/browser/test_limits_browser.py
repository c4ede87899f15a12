"""The server's limits in a real browser, on servers of their own started with the limits' environment settings:

- a refusal: the book's numerical loop is over the hosted time cap; Start is disabled and the page says why and
  what fits, still after leaving the page by the sidebar and coming back, and in Japanese;
- abandonment: a page that starts a long run and is closed has its run stopped after the grace period, a
  newcomer waiting for the only training slot gets it and finishes, and the first browser, opening the app again,
  finds its run stopped "the page was closed" (the reload store).

Waits are Playwright's (``expect`` and ``wait_for_function``), never fixed sleeps."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import settled
from tests.browser.streamlit_server import streamlit_server

pytestmark = pytest.mark.browser

GRACE_S = 3


@pytest.fixture(scope="module")
def hosted_url():
    """A server with the hosted defaults (no SGDLAB_MAX_RUN_MINUTES: 10 minutes of estimated time per run)."""
    with streamlit_server("app.py", env={"SGDLAB_MAX_RUN_MINUTES": ""}) as url:
        yield url


def _refusal(page, text: str, start: str) -> None:
    main = page.locator("[data-testid='stMainBlockContainer']")
    expect(main.locator("[data-testid='stAlertContentError']").filter(has_text=text)).to_be_visible(timeout=180_000)
    expect(main.get_by_role("button", name=start, exact=True)).to_be_disabled()


def test_the_books_numerical_loop_is_refused_and_stays_refused_across_pages_and_languages(page, hosted_url):
    page.goto(f"{hosted_url}/train?gradient=numerical-plain")
    expect(page.get_by_role("heading", name="Train the network")).to_be_visible(timeout=180_000)
    _refusal(page, "Too long for this server", "Start")
    error = page.locator("[data-testid='stAlertContentError']").filter(has_text="Too long for this server")
    text = error.inner_text()
    assert "at most 10 min" in text and "SGDLAB_MAX_RUN_MINUTES" in text
    assert re.search(r"at most [\d,]+ iterations fit|not even one iteration fits", text), text
    expect(page.get_by_text(re.compile(r"^Yes, train for"))).to_have_count(0)  # no confirmation to tick

    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_role("link", name="Loss curves").click()
    expect(page.get_by_role("heading", name="Loss curves")).to_be_visible()
    sidebar.get_by_role("link", name="Train").click()
    expect(page.get_by_role("heading", name="Train the network")).to_be_visible()
    _refusal(page, "Too long for this server", "Start")

    settled(page)
    page.get_by_text("日本語", exact=True).click()
    expect(page.get_by_role("heading", name="ネットワークの学習")).to_be_visible()
    _refusal(page, "このサーバーでは長すぎます", "開始")
    assert "SGDLAB_MAX_RUN_MINUTES" in page.locator("[data-testid='stAlertContentError']").filter(
        has_text="このサーバーでは長すぎます").inner_text()


@pytest.fixture(scope="module")
def one_slot_url():
    """One training at a time on the whole server, abandoned runs stopped after ``GRACE_S`` seconds."""
    with streamlit_server("app.py", env={"SGDLAB_MAX_TRAININGS": "1", "SGDLAB_ABANDON_GRACE_S": str(GRACE_S),
                                         "SGDLAB_MAX_RUN_MINUTES": "off"}) as url:
        yield url


def _start(page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Train the network")).to_be_visible(timeout=180_000)
    main = page.locator("[data-testid='stMainBlockContainer']")
    start = main.get_by_role("button", name="Start", exact=True)
    page.wait_for_function(  # Start enabled, or a long run's confirmation to tick first
        "() => document.body.innerText.includes('Yes, train for') || [...document.querySelectorAll('button')]"
        ".some(b => b.innerText.trim() === 'Start' && !b.disabled)", timeout=180_000)
    confirm = page.get_by_text(re.compile(r"^Yes, train for"))
    if confirm.count():
        confirm.click()
    expect(start).to_be_enabled()
    start.click()


def test_a_closed_pages_run_is_stopped_and_the_waiting_newcomer_gets_the_slot(browser, one_slot_url):
    closing = browser.new_context(viewport={"width": 1280, "height": 800})
    leaver = closing.new_page()
    _start(leaver, f"{one_slot_url}/train?iters=1000000&images=1000")
    progress = leaver.locator("[data-testid='stProgress']")
    expect(progress).to_contain_text(re.compile(r"training [\d,]+ of 1,000,000"), timeout=180_000)
    leaver.close()  # the tab is closed: its websocket with it (the browser, and its stored token, stay)
    closed = time.monotonic()

    staying = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        newcomer = staying.new_page()
        _start(newcomer, f"{one_slot_url}/train?iters=100&images=300")
        expect(newcomer.locator("[data-testid='stProgress']")).to_contain_text(
            re.compile(r"finished: test"), timeout=(GRACE_S + 180) * 1000)
        took = time.monotonic() - closed
        print(f"closed the page → the newcomer's run finished: {took:.1f} s (grace {GRACE_S} s)")
        assert took >= GRACE_S  # the closed page's run held the one slot until the grace was over
        # the app opened again in the first browser: its run is back from the reload store, stopped, and says why
        back = closing.new_page()
        back.goto(f"{one_slot_url}/train")
        expect(back.locator("[data-testid='stProgress']")).to_contain_text(
            re.compile(r"stopped at [\d,]+ of 1,000,000: the page was closed"), timeout=180_000)
    finally:
        staying.close()
        closing.close()
