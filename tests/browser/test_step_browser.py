"""The step-through in Debian's Chromium: a step draws a new mini-batch (its one composite picture changes) and lowers
the loss on it; the step-through survives leaving the page through the sidebar, coming back and switching the
language, and the next step goes on from it (iteration 2, not a new run). Screenshots go to pytest's ``tmp_path``.

Run: ``python -m pytest tests/browser/test_step_browser.py -q`` (fixtures in conftest.py).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import settled

pytestmark = pytest.mark.browser

#: The status line: "**One step** done — the last was `i = 1`. … **2.3019** before the update, **2.2911** after."
#: (in Japanese "… 最後は `i = 1`。… 更新前 **2.3019**、更新後 **2.2911**。")
STATUS = re.compile(r"i = (\d+).*?(\d+\.\d{4}).*?(\d+\.\d{4})", re.S)


def _status(page) -> tuple[int, float, float]:
    text = page.locator("[data-testid='stMainBlockContainer'] [data-testid='stMarkdown']", has_text="i = ").first
    m = STATUS.search(text.inner_text())
    assert m, text.inner_text()
    return int(m.group(1)), float(m.group(2)), float(m.group(3))


def _wait_for_iteration(page, i: int) -> None:
    page.wait_for_function(
        """(i) => [...document.querySelectorAll('[data-testid="stMainBlockContainer"] [data-testid="stMarkdown"]')]
                 .some(e => e.innerText.includes('i = ' + i + ')') || e.innerText.includes('i = ' + i + '.')
                            || e.innerText.includes('i = ' + i + '。'))""",
        arg=i, timeout=30_000)


def _thumbnails(page) -> str:
    """The mini-batch picture (one heat map image: 100 thumbnails) as Plotly drew it: its image's data URL."""
    chart = page.locator("[data-testid='stTabPanel']:visible [data-testid='stPlotlyChart']").first
    image = chart.locator("g.heatmaplayer image").first
    image.wait_for(state="attached")
    return image.get_attribute("href") or image.get_attribute("xlink:href")


def _new_thumbnails(page, old: str) -> str:
    """Wait until the mini-batch picture is another than ``old`` (Plotly redraws it after the script run); return it."""
    page.wait_for_function(
        """(old) => {
            const panel = [...document.querySelectorAll('[data-testid="stTabPanel"]')].find(p => p.offsetParent);
            const image = panel && panel.querySelector('[data-testid="stPlotlyChart"] g.heatmaplayer image');
            const href = image && (image.getAttribute('href') || image.getAttribute('xlink:href'));
            return !!href && href !== old;
        }""", arg=old, timeout=30_000)
    return _thumbnails(page)


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.locator("[data-testid='stTabPanel']:visible [data-testid='stPlotlyChart']").first.wait_for()


def test_a_step_changes_the_batch_lowers_the_loss_and_survives_pages_and_language(app_url, page, tmp_path):
    page.goto(app_url)  # through the home page first, so the server runs app.py's st.navigation
    page.get_by_text("Code, step by step").first.wait_for()
    page.goto(f"{app_url}/code")
    page.get_by_role("heading", name="Code, step by step").wait_for()
    settled(page)
    main = page.locator("[data-testid='stMainBlockContainer']")

    main.get_by_role("button", name="One step", exact=True).click()
    _wait_for_iteration(page, 0)
    settled(page)
    _tab(page, "1 · The mini-batch")
    first = _thumbnails(page)
    main.get_by_role("button", name="One step", exact=True).click()
    _wait_for_iteration(page, 1)
    second = _new_thumbnails(page, first)  # a new mini-batch, drawn as a new picture
    settled(page)
    i, before, after = _status(page)
    assert i == 1
    assert after < before, (before, after)  # the step lowered the loss on its batch
    page.screenshot(path=str(tmp_path / "step.png"))

    # away through the sidebar, back, and into Japanese: the step-through is still there
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="Loss curves", exact=True).click()
    page.get_by_role("heading", name="Loss curves").wait_for()
    settled(page)
    nav.get_by_role("link", name="Code, step by step", exact=True).click()
    page.get_by_role("heading", name="Code, step by step").wait_for()
    page.get_by_text("日本語", exact=True).click()
    page.get_by_role("heading", name="コードを一歩ずつ").wait_for()
    settled(page)
    assert _status(page) == (i, before, after)
    _tab(page, "1 · ミニバッチ")
    assert _thumbnails(page) == second
    # and used: the next step is the run's iteration 2, on a new batch, and helps it too
    main.get_by_role("button", name="1 ステップ", exact=True).click()
    _wait_for_iteration(page, 2)
    _new_thumbnails(page, second)
    settled(page)
    i, before, after = _status(page)
    assert i == 2 and after < before, (i, before, after)
    page.screenshot(path=str(tmp_path / "step-ja.png"))
