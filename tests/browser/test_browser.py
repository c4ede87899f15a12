"""The real browser: each page opens; a short training fills the live loss chart and the accuracy table;
moving to another page while it trains and coming back; Stop. Screenshots go to the test's tmp_path."""

import re

import pytest

from tests.browser.helpers import settled

pytestmark = pytest.mark.browser

PAGES = {"": "SGD Lab", "train": "Train the network", "loss_curves": "Loss curves", "overfitting": "Overfitting check"}


def _wait_ready(page):
    page.wait_for_selector("[data-testid='stApp']")
    settled(page)


def _set_number(page, label, value):
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    settled(page)


@pytest.mark.parametrize("path, title", PAGES.items())
def test_each_page_opens(page, app_url, tmp_path, path, title):
    page.goto(f"{app_url}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    _wait_ready(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    assert re.search(r"(Full MNIST|Offline sample) · ", sidebar.inner_text())
    assert "idle" in sidebar.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(tmp_path / f"{path or 'home'}.png"), full_page=True)


def test_train_live_switch_pages_and_stop(page, app_url, tmp_path):
    page.goto(f"{app_url}/train")
    page.get_by_role("heading", name="Train the network").wait_for()
    _wait_ready(page)
    # a run long enough to watch, on 1,000 images (an epoch every 10 iterations)
    _set_number(page, "Iterations", 200_000)
    page.get_by_text(re.compile(r"^All [\d,]+ images$")).click()
    settled(page)
    _set_number(page, "Training images", 1000)
    # the estimate decides whether Start asks for a confirmation first (a busy machine estimates longer): wait for
    # the page to settle on one or the other
    page.wait_for_function(
        "() => document.body.innerText.includes('Yes, train for') || [...document.querySelectorAll('button')]"
        ".some(b => b.innerText.trim() === 'Start' && !b.disabled)"
    )
    confirm = page.get_by_text(re.compile(r"^Yes, train for"))
    if confirm.count():
        confirm.click()
    page.get_by_role("button", name="Start").click()

    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.wait_for()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-testid=\"stProgress\"]');"
        " return p && /iteration [\\d,]+ of 200,000/.test(p.innerText) && !/iteration 0 of/.test(p.innerText); }"
    )
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for()
    first_text = page.locator("[data-testid='stProgress']").inner_text()
    # the progress must move while training
    page.wait_for_function("(first) => document.querySelector('[data-testid=\"stProgress\"]').innerText !== first",
                           arg=first_text, timeout=15_000)
    # the curve grows at the next chart refresh (every 2 s; 3 s with the browser on a 2-core machine)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .scatterlayer path.js-line')]"
        ".some(p => (p.getAttribute('d') || '').length > 20)", timeout=15_000)
    page.screenshot(path=str(tmp_path / "training.png"), full_page=True)

    # another page while it trains: the sidebar shows it live
    page.get_by_role("link", name="Loss curves").first.click()
    page.get_by_role("heading", name="Loss curves").wait_for()
    sidebar = page.locator("[data-testid='stSidebar']")
    page.wait_for_function("() => /training [\\d,]+ of 200,000/.test("
                           "document.querySelector('[data-testid=\"stSidebar\"]').innerText)")
    page.locator("[data-testid='stPlotlyChart']").nth(1).wait_for()  # whole run and first 1,000 iterations
    page.screenshot(path=str(tmp_path / "loss_curves_live.png"), full_page=True)

    # back, and Stop
    page.get_by_role("link", name="Train").first.click()
    page.get_by_role("heading", name="Train the network").wait_for()
    page.locator("[data-testid='stPlotlyChart']").first.wait_for()
    # the app's Stop, not the Stop that Streamlit's header shows while a script runs
    page.locator("[data-testid='stMain']").get_by_role("button", name="Stop").click()
    page.wait_for_function("() => /stopped at [\\d,]+ of 200,000: test/.test("
                           "document.querySelector('[data-testid=\"stSidebar\"]').innerText)", timeout=15_000)
    page.wait_for_function("() => /stopped at [\\d,]+ of 200,000/.test("
                           "document.querySelector('[data-testid=\"stProgress\"]').innerText)", timeout=15_000)
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)
