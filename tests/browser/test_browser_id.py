"""The real browser: ``ui.browser_id`` gives each browser one token, kept in its localStorage, that survives a
reload and a closed tab, differs in another browser (a new Playwright context), never shows in the URL or in a
cookie, costs one extra script run per new session and no rerun loop, and takes no space on the page. Without
localStorage it falls back to sessionStorage, and without either the app gets None (and knows the browser
answered). Against a small app of its own, ``tests/browser/token_app.py``."""

import re

import pytest

from tests.browser.helpers import settled
from tests.browser.streamlit_server import streamlit_server

pytestmark = pytest.mark.browser

TOKEN_TEXT = re.compile(r"^token: ([0-9a-f]{32})$")
STORAGE_KEY = "sgdlab-token"

# Make a storage throw on access, as blocked storage (and some private modes) do.
BLOCK = """
for (const name of %s) {
  Object.defineProperty(window, name, {
    configurable: true,
    get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  });
}
"""


@pytest.fixture(scope="module")
def token_url():
    with streamlit_server("tests/browser/token_app.py") as url:
        yield url


def _expect():
    from playwright.sync_api import expect  # here: without playwright the browser fixture skips (or fails in CI)

    return expect


def _new_page(context):
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def _token(page) -> str:
    """Wait until the server shows a token (the browser's answer reruns the script), and return it."""
    line = page.get_by_text(re.compile(r"^token: "))
    _expect()(line).to_have_text(TOKEN_TEXT)
    token = TOKEN_TEXT.match(line.inner_text().strip()).group(1)
    assert token not in page.url
    return token


def _runs(page):
    return page.get_by_text(re.compile(r"^runs: "))


def test_one_token_per_browser_through_reloads_and_closed_tabs(browser, token_url):
    expect = _expect()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = _new_page(context)
        page.goto(token_url)
        token = _token(page)
        assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") == token
        # A new session: the first run had no token, the browser's answer started exactly one more.
        expect(_runs(page)).to_have_text(re.compile(r"^runs: 2 started, [12] finished$"))
        expect(page.get_by_text("answered: yes")).to_be_visible()

        # No rerun loop: one click, one run more (and the token unchanged).
        page.get_by_role("button", name="Rerun").click()
        expect(_runs(page)).to_have_text(re.compile(r"^runs: 3 started"))
        settled(page)
        expect(_runs(page)).to_have_text(re.compile(r"^runs: 3 started"))
        assert _token(page) == token

        # A reload is a new Streamlit session: the same token comes back (again with one extra run).
        page.reload()
        expect(_runs(page)).to_have_text(re.compile(r"^runs: 2 started"))
        assert _token(page) == token

        # The tab closed and the app opened again in the same browser.
        page.close()
        page = _new_page(context)
        page.goto(token_url + "/?from=bookmark")
        assert _token(page) == token

        # Another browser: another token.
        stranger = _new_page(other)
        stranger.goto(token_url)
        strangers_token = _token(stranger)
        assert strangers_token != token

        # Never in a URL (_token checks each page's), never in a cookie.
        for ctx in (context, other):
            for cookie in ctx.cookies():
                assert token not in cookie["value"] and strangers_token not in cookie["value"], cookie["name"]
    finally:
        context.close()
        other.close()


def test_the_component_takes_no_space(page, token_url, tmp_path):
    page.goto(token_url)
    _token(page)
    settled(page)
    page.screenshot(path=str(tmp_path / "token-app.png"))
    container = page.locator(".st-key-sgd_browser_token")
    assert container.count() == 1
    assert container.bounding_box() is None  # display: none, not merely zero height
    top = {name: page.get_by_text(name, exact=True).bounding_box()["y"] for name in ("above", "below", "after")}
    # The component sits between "above" and "below"; "below" and "after" are plain neighbours. A zero-height
    # element would still add the block's 1rem gap.
    assert top["below"] - top["above"] == pytest.approx(top["after"] - top["below"], abs=0.5), top


def test_a_malformed_token_is_replaced(page, token_url):
    page.goto(token_url)
    first = _token(page)
    page.evaluate(f"localStorage.setItem('{STORAGE_KEY}', '{first.upper()}')")  # not what the component makes
    page.reload()
    token = _token(page)
    assert token != first
    assert page.evaluate(f"localStorage.getItem('{STORAGE_KEY}')") == token


def test_without_local_storage_the_tab_keeps_a_token_in_session_storage(browser, token_url):
    context = browser.new_context()
    context.add_init_script(BLOCK % "['localStorage']")
    try:
        page = _new_page(context)
        page.goto(token_url)
        token = _token(page)
        assert page.evaluate(f"sessionStorage.getItem('{STORAGE_KEY}')") == token
        page.reload()
        assert _token(page) == token  # sessionStorage survives a reload of the tab
        other_tab = _new_page(context)
        other_tab.goto(token_url)
        assert _token(other_tab) != token  # ... but not a new tab
    finally:
        context.close()


def test_without_any_storage_there_is_no_token_and_no_loop(browser, token_url):
    expect = _expect()
    context = browser.new_context()
    context.add_init_script(BLOCK % "['localStorage', 'sessionStorage']")
    try:
        page = _new_page(context)
        page.goto(token_url)
        expect(page.get_by_text("answered: yes")).to_be_visible()  # the browser said "none kept"
        expect(page.get_by_text("token: none", exact=True)).to_be_visible()
        expect(_runs(page)).to_have_text(re.compile(r"^runs: 2 started"))
        page.get_by_role("button", name="Rerun").click()
        expect(_runs(page)).to_have_text(re.compile(r"^runs: 3 started"))
        settled(page)
        expect(_runs(page)).to_have_text(re.compile(r"^runs: 3 started"))
        expect(page.get_by_text("token: none", exact=True)).to_be_visible()
    finally:
        context.close()
