"""The real browser: lecture mode makes the type larger (the computed font size grows) and folds the advanced
training options away; the Japanese switch relabels the page. Screenshots go to the test's tmp_path."""

import pytest

from tests.browser.helpers import settled

pytestmark = pytest.mark.browser

FONT_SIZE = "(s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)"
TEXT = "[data-testid='stMain'] [data-testid='stMarkdownContainer'] p"


def test_lecture_mode_enlarges_the_type_and_folds_the_advanced_options(browser, app_url, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1.5)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{app_url}/train")
        page.get_by_role("heading", name="Train the network").wait_for()
        settled(page)
        page.get_by_label("Hidden units", exact=True).wait_for(state="visible")  # the settings column drawn
        before = page.evaluate(FONT_SIZE, TEXT)
        page.get_by_text("Lecture mode", exact=True).click()
        page.get_by_text("Advanced options").wait_for()
        settled(page)
        after = page.evaluate(FONT_SIZE, TEXT)
        page.screenshot(path=str(tmp_path / "train-lecture.png"))
        assert after >= 1.15 * before, (before, after)
        assert not page.get_by_label("Hidden units", exact=True).is_visible()  # folded away, still there
        assert page.get_by_label("Learning rate", exact=True).is_visible()
        page.get_by_text("Advanced options").click()
        page.get_by_label("Hidden units", exact=True).wait_for(state="visible")
        assert page.get_by_label("Hidden units", exact=True).input_value() == "50"

        page.get_by_text("日本語", exact=True).click()
        page.get_by_role("heading", name="ネットワークの学習").wait_for()
        settled(page)
        assert page.get_by_role("button", name="開始").is_visible()
        assert page.evaluate(FONT_SIZE, TEXT) == after  # lecture mode stays on across the switch
        page.screenshot(path=str(tmp_path / "train-lecture-ja.png"))
    finally:
        context.close()
