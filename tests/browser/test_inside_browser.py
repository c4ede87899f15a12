"""The look-inside pages in Debian's Chromium: the hidden units' weight grid and the confusion matrix render
(heat-map images of a real size, cell labels), and a click on a matrix cell shows the images behind it.

Run: ``python -m pytest tests/browser/test_inside_browser.py -m browser -q`` (fixtures in conftest.py).
Screenshots go to pytest's ``tmp_path``.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _open(page, app_url: str, path: str) -> None:
    # through the home page first, so the server runs app.py's st.navigation (see test_draw_browser.py)
    page.goto(app_url)
    page.get_by_text("Where it errs").first.wait_for()
    page.goto(f"{app_url}/{path}")


def _heatmap_box(chart) -> dict:
    """The bounding box of the raster image Plotly draws for a heat map inside ``chart``."""
    image = chart.locator("g.heatmaplayer image").first
    image.wait_for(state="attached")
    box = image.bounding_box()
    assert box, "the heat map has no image"
    return box


def test_weight_grid_and_confusion_matrix_render(app_url, page, tmp_path):
    _open(page, app_url, "hidden_units")
    page.get_by_text("What the hidden units learned").first.wait_for()
    grid = page.locator('[data-testid="stPlotlyChart"]').first
    grid.get_by_text("What each hidden unit looks for").wait_for()
    box = _heatmap_box(grid)
    # 10 × 5 tiles of 28 px with 2 px gutters: about twice as wide as high, and big enough to read
    assert box["width"] > 500 and 1.8 < box["width"] / box["height"] < 2.2, box
    assert grid.locator(".colorbar").count() == 1
    page.screenshot(path=str(tmp_path / "hidden_units.png"))

    _open(page, app_url, "errors")
    matrix = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="Confusion matrix").first
    matrix.wait_for()
    box = _heatmap_box(matrix)
    assert box["width"] > 250 and abs(box["width"] - box["height"]) < 0.05 * box["width"], box  # square cells
    for axis_title in ("predicted digit", "true digit"):
        assert matrix.get_by_text(axis_title).count() == 1
    labels = matrix.locator("g.heatmaplayer text")
    assert labels.count() >= 10  # at least the 10 diagonal counts are written in their cells
    page.screenshot(path=str(tmp_path / "errors.png"))

    # click the cell true 4 → predicted 9 (its invisible marker is point 4 * 10 + 9)
    matrix.locator("g.scatterlayer path.point").nth(49).click(force=True)
    page.get_by_text("misclassified test images of a 4 read as 9").first.wait_for()
    page.locator('[data-testid="stPlotlyChart"]').filter(has_text="4→9").first.wait_for()
    page.screenshot(path=str(tmp_path / "errors_cell.png"), full_page=True)
