"""The real browser: a tiny 3 × 2 sweep on the Compare settings page draws its small multiples and heat map; after
leaving through the sidebar, coming back and switching to Japanese, the sweep's choices and charts are still there.
Conditions only (no fixed sleeps)."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import settled

pytestmark = pytest.mark.browser

PANELS = ".st-key-sgd_sweep_curves .cartesianlayer > .subplot"
HEAT_CELLS = ".st-key-sgd_sweep_accuracy .hm"


def _charts_drawn(page, n_panels: int, tested: str) -> None:
    expect(page.locator(PANELS)).to_have_count(n_panels)
    expect(page.locator(HEAT_CELLS)).to_have_count(1)
    expect(page.locator(".st-key-sgd_sweep_curves .gtitle")).to_be_visible()
    expect(page.locator(".st-key-sgd_sweep_curves").get_by_text(tested).first).to_be_visible()


def test_a_tiny_sweep_draws_and_survives_leaving_and_a_language_switch(page, app_url, tmp_path):
    page.goto(f"{app_url}/sweeps")
    page.get_by_role("heading", name="Compare settings").wait_for()
    settled(page)
    iters = page.locator(".st-key-sgd_sweep_iters input")
    iters.fill("100")
    iters.press("Enter")
    expect(page.locator(".st-key-sgd_sweep_preset input")).to_have_value("Your own sweep")
    page.locator(".st-key-sgd_sweep_y").click()
    page.get_by_role("option", name="batch size").click()
    expect(page.locator(".st-key-sgd_sweep_y_values")).to_contain_text("100")
    settled(page)
    page.locator(".st-key-sgd_sweep_start button").click()
    expect(page.get_by_text("6 of 6 runs ended")).to_be_visible(timeout=60_000)
    _charts_drawn(page, 6, "lr 0.1 · batch 10: test")
    page.screenshot(path=str(tmp_path / "sweep-en.png"))

    page.locator("[data-testid='stSidebarNav']").get_by_text("Loss curves").click()
    page.get_by_role("heading", name="Loss curves").wait_for()
    settled(page)
    page.locator("[data-testid='stSidebarNav']").get_by_text("Compare settings").click()
    page.get_by_role("heading", name="Compare settings").wait_for()
    page.get_by_text("日本語", exact=True).click()
    page.get_by_role("heading", name="設定の比較").wait_for()
    settled(page)
    expect(page.locator(".st-key-sgd_sweep_x input")).to_have_value("学習率")
    expect(page.locator(".st-key-sgd_sweep_y input")).to_have_value("バッチサイズ")
    expect(page.locator(".st-key-sgd_sweep_x_values")).to_contain_text("0.001")
    expect(page.locator(".st-key-sgd_sweep_iters input")).to_have_value("100")
    expect(page.get_by_text("6 件中 6 件が終了")).to_be_visible()
    _charts_drawn(page, 6, "lr 0.1 · batch 10: テスト")
    page.screenshot(path=str(tmp_path / "sweep-ja.png"))
