"""The real round trip: a run trained in the browser (opened from a link), downloaded, and uploaded in a fresh
browser context (a new session) shows the same accuracies and the same loss values."""

import re

import pytest

from tests.browser.helpers import settled

pytestmark = pytest.mark.browser

#: Every chart's traces' y values as plotly.js drew them (``_fullData``: ``data`` holds them base64-encoded).
_LOSSES = ("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
           ".map(p => (p._fullData || []).map(t => Array.from(t.y || [])))")


def _finished(page) -> str:
    page.wait_for_function(
        "() => /finished: test [\\d.]+%/.test(document.querySelector('[data-testid=\"stProgress\"]')?.innerText)",
        timeout=60_000,
    )
    # the chart fragment redraws after the run ends: wait for the whole loss curve (300 iterations) in it
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".some(p => (p._fullData || []).some(t => t.y && t.y.length === 300))", timeout=30_000)
    settled(page)
    return page.locator("[data-testid='stProgress']").inner_text()


def test_download_a_run_and_upload_it_in_a_fresh_session(browser, app_url, tmp_path):
    first = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = first.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app_url}/train?iters=300&images=2000&seed=3")  # a link with the settings
    page.get_by_role("heading", name="Train the network").wait_for()
    # the field can show its minimum (1) for a moment while the first page is drawn: wait for the link's value
    from playwright.sync_api import expect  # here: without playwright the browser fixture skips (or fails in CI)

    expect(page.get_by_label("Iterations", exact=True)).to_have_value("300", timeout=10_000)
    page.get_by_role("button", name="Start").click()
    original = _finished(page)
    status = re.search(r"finished: test [\d.]+%", original).group(0)
    losses = page.evaluate(_LOSSES)
    assert [len(trace) for plot in losses for trace in plot] == [300], losses  # the whole curve, drawn
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the run (.npz)").click()
    download = info.value
    assert download.suggested_filename == "sgdlab-run1-lr-0.1-batch-100-300-it-2k-imgs-seed-3.npz"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    page.screenshot(path=str(tmp_path / "saved.png"), full_page=True)
    first.close()

    second = browser.new_context(viewport={"width": 1280, "height": 800})
    page = second.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app_url}/train")
    page.get_by_role("heading", name="Train the network").wait_for()
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(path))
    page.get_by_text("Loaded #1 uploaded: lr 0.1 · batch 100 · 300 it · 2k imgs · seed 3").wait_for()
    shown = _finished(page)
    assert status in shown and "iteration 300 of 300" in shown
    loaded = page.evaluate(_LOSSES)  # the file keeps the losses as float32: equal to 1e-6 (the chart shows 3 places)
    assert [len(trace) for plot in loaded for trace in plot] == [300]
    assert loaded[0][0] == pytest.approx(losses[0][0], rel=1e-6)
    page.screenshot(path=str(tmp_path / "loaded.png"), full_page=True)
    second.close()
