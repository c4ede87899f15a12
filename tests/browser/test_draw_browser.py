"""The draw page in a real browser (Debian's Chromium through Playwright): draw with the mouse, read the verdict.

Run: ``MNIST_DIR=... python -m pytest tests/browser/test_draw_browser.py -m browser -q``. Screenshots go to
pytest's ``tmp_path``.
"""

from __future__ import annotations

import math
import re
import time

import pytest

pytestmark = pytest.mark.browser

VERDICT = re.compile(r"It reads (\d)")


def _open_draw_page(page, base_url: str):
    # through the home page: on a server that has not yet run app.py, Streamlit would serve pages/draw.py on
    # its own (the old pages/ directory mode) instead of inside the app's st.navigation
    page.goto(base_url)
    page.get_by_text("Draw a digit").first.wait_for(timeout=30_000)
    page.goto(f"{base_url}/draw")
    pad = page.locator(".sgd-pad canvas")
    pad.wait_for(state="visible", timeout=30_000)
    page.get_by_text("Draw a digit on the black square").wait_for(timeout=30_000)
    box = pad.bounding_box()
    assert box and box["width"] > 150, f"canvas too small to draw on: {box}"
    return box


def _stroke(page, box, points, steps: int = 4) -> None:
    """One pen stroke through ``points`` given in canvas units (0–280), as a mouse drag."""
    k = box["width"] / 280

    def at(p):
        return box["x"] + p[0] * k, box["y"] + p[1] * k

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*at(p), steps=steps)
    page.mouse.up()


def _verdict(page, previous: str | None = None, timeout: float = 15.0) -> tuple[str, float]:
    """The verdict heading once it appears (and differs from ``previous``), and how long that took."""
    start = time.perf_counter()
    heading = page.locator("h3", has_text="It reads")
    while time.perf_counter() - start < timeout:
        if heading.count():
            text = heading.first.inner_text()
            if text != previous and VERDICT.search(text):
                return text, time.perf_counter() - start
        page.wait_for_timeout(20)
    raise AssertionError(f"no new verdict within {timeout} s (last: {previous!r})")


def _clear(page) -> None:
    page.locator(".sgd-clear").click()
    page.get_by_text("Draw a digit on the black square").wait_for(timeout=15_000)


def one_points():
    return [(142, 45), (140, 240)]


def zero_points():
    # a closed loop, a little taller than wide, started at the top like most people do
    return [(140 + 62 * math.sin(t), 140 - 92 * math.cos(t)) for t in [i * 2 * math.pi / 40 for i in range(43)]]


def test_draw_one_and_zero(app_url, page, tmp_path):
    box = _open_draw_page(page, app_url)
    page.screenshot(path=str(tmp_path / "draw_empty.png"), full_page=True)

    _stroke(page, box, one_points())
    text, latency_one = _verdict(page)
    page.screenshot(path=str(tmp_path / "draw_one.png"), full_page=True)
    assert VERDICT.search(text).group(1) == "1", text
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(2).wait_for(timeout=15_000)  # the 28×28 preview, the probabilities, the hidden strip

    _clear(page)
    _stroke(page, box, zero_points(), steps=2)
    text, latency_zero = _verdict(page)
    charts.nth(2).wait_for(timeout=15_000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / "draw_zero.png"), full_page=True)
    assert VERDICT.search(text).group(1) == "0", text
    print(f"\nverdict latency after pen-up: '1' {latency_one * 1000:.0f} ms, '0' {latency_zero * 1000:.0f} ms")
    assert max(latency_one, latency_zero) < 3.0
