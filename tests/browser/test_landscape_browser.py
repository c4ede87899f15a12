"""The loss landscape in a real browser: a tiny run trained from a link draws its map (contours and both paths);
leaving through the sidebar and coming back shows it again without computing, and so does 日本語, with the
page's choices kept."""

import pytest

from tests.browser.helpers import settled

pytestmark = pytest.mark.browser

#: The traces plotly.js drew: type, name and number of points of each.
_TRACES = ("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
           ".flatMap(p => (p._fullData || []).map(t => [t.type, t.name || '', (t.x || []).length]))")
_HAS_MAP = ("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".some(p => (p._fullData || []).some(t => t.type === 'contour'))")


def _map_traces(page) -> list:
    page.wait_for_function(_HAS_MAP, timeout=30_000)
    settled(page)
    return page.evaluate(_TRACES)


def test_a_tiny_run_draws_its_map_which_survives_a_page_switch_and_japanese(page, app_url):
    from playwright.sync_api import (
        expect,  # here: without playwright the browser fixture skips (or fails in CI)
    )

    page.goto(f"{app_url}/train?iters=300&images=1000")
    page.get_by_role("heading", name="Train the network").wait_for()
    expect(page.get_by_label("Iterations", exact=True)).to_have_value("300", timeout=10_000)
    settled(page)
    page.get_by_role("button", name="Start").click()
    page.wait_for_function(
        "() => /finished: test [\\d.]+%/.test(document.querySelector('[data-testid=\"stProgress\"]')?.innerText)",
        timeout=60_000)
    settled(page)

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("link", name="Loss landscape").click()
    page.get_by_role("heading", name="Where SGD walks: the loss landscape").wait_for()
    page.get_by_role("button", name="Compute the map").click()
    traces = _map_traces(page)
    kinds = [kind for kind, _, _ in traces]
    assert kinds == ["contour", "scatter", "scatter", "scatter", "scatter"], traces
    sgd, full = traces[1], traces[2]
    assert sgd[1].startswith("SGD") and sgd[2] >= 10  # the start and a point per accuracy measurement (~30)
    assert "300 steps" in full[1] and full[2] == sgd[2]  # full batch: the same length, marked at the same steps
    expect(page.get_by_text("the run's own loss on these images")).to_be_visible()

    # the team's rule: leave through the sidebar, come back: the map is there, not to be computed again
    sidebar.get_by_role("link", name="Train").click()
    page.get_by_role("heading", name="Train the network").wait_for()
    settled(page)
    sidebar.get_by_role("link", name="Loss landscape").click()
    page.get_by_role("heading", name="Where SGD walks: the loss landscape").wait_for()
    assert [kind for kind, _, _ in _map_traces(page)] == kinds
    expect(page.get_by_role("button", name="Compute the map")).to_have_count(0)

    sidebar.get_by_text("日本語", exact=True).click()
    page.get_by_role("heading", name="SGD の歩いた道: 損失関数の地形").wait_for()
    traces = _map_traces(page)
    assert [kind for kind, _, _ in traces] == kinds and traces[1][1].startswith("SGD (この学習")
    expect(page.get_by_role("radio", name="道そのものの方向 (PCA)")).to_be_checked()
    expect(page.get_by_text("25 × 25")).to_be_visible()
    expect(page.get_by_text("地図を計算")).to_have_count(0)
