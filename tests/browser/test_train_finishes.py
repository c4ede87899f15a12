"""A run that ends by itself: the page stops polling and every panel, the sidebar included, says it finished."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_short_run_finishes_and_the_sidebar_says_so(page, app_url, tmp_path):
    page.goto(f"{app_url}/train")
    page.get_by_role("heading", name="Train the network").wait_for()
    box = page.get_by_label("Iterations", exact=True)
    box.fill("300")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"iters=300"))  # the server has the new value (it rewrites the address)
    page.get_by_role("button", name="Start").click()
    page.wait_for_function(
        "() => /finished: test [\\d.]+%/.test(document.querySelector('[data-testid=\"stSidebar\"]').innerText)",
        timeout=60_000,
    )
    progress = page.locator("[data-testid='stProgress']").inner_text()
    assert re.search(r"finished: test [\d.]+% — iteration 300 of 300 .* took [\d.]+ s", progress)
    assert page.locator("[data-testid='stMain']").get_by_role("button", name="Stop").is_disabled()
    page.screenshot(path=str(tmp_path / "finished.png"))
