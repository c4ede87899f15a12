"""The real browser: switching language keeps every choice selected (radio buttons, selectboxes) and the next
click works. A radio or selectbox is matched by its label text in the browser, and the labels change with the
language; AppTest cannot see this. Screenshots go to the test's tmp_path."""

import pytest

from tests.browser.helpers import settled

pytestmark = pytest.mark.browser


def test_switching_language_keeps_the_choices_and_start_works_at_once(page, app_url, tmp_path):
    page.goto(f"{app_url}/train?gradient=numerical&iters=20&images=300")
    page.get_by_role("heading", name="Train the network").wait_for()
    settled(page)
    assert page.get_by_role("radio", name="Numerical, fast version").is_checked()
    page.get_by_text("日本語", exact=True).click()
    page.get_by_role("heading", name="ネットワークの学習").wait_for()
    settled(page)
    page.screenshot(path=str(tmp_path / "train-ja.png"))
    assert page.get_by_role("radio", name="数値微分 (高速版)").is_checked()
    preset = page.locator("[data-testid='stSelectbox']").first.inner_text()
    assert "Custom" not in preset and "Book" not in preset, preset  # the preset box speaks Japanese too
    main = page.locator("[data-testid='stMainBlockContainer']")
    main.get_by_role("button", name="開始").click()
    page.wait_for_function("() => /所要 [\\d.]+ 秒/.test(document.querySelector("
                           "'[data-testid=\"stProgress\"]')?.innerText ?? '')", timeout=60_000)
    assert "gradient=numerical&" in page.url or page.url.endswith("gradient=numerical")
    page.get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Train the network").wait_for()
    settled(page)
    assert page.get_by_role("radio", name="Numerical, fast version").is_checked()
    page.screenshot(path=str(tmp_path / "train-en-again.png"))
