"""atom.js's uPlot charts: the y axis is wide enough for its longest tick label (a fixed 60 px
cut "1000 ms" to "000 ms" and "4.25 ms" to ".25 ms" on a connection's response-time chart)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "atom" / "dashboard" / "static"
HOURS = [1733270400 + 3600 * i for i in range(24)]

# uPlot draws a y label right-aligned at (axis size - tick length 10 - gap 5); its default
# font is 12px system-ui. The room left of the plot must hold the label's measured width.
ROOM_JS = r"""
(label) => {
  const over = document.querySelector('#c .u-over');
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
  return {room: over.offsetLeft - 15, needed: ctx.measureText(label).width};
}
"""


@pytest.mark.parametrize("values, label", [([3.5, 1204.5], "1000 ms"), ([3.5, 4.25], "3.6 ms"),
                                           ([12000, 86000], "80000 ms")])
def test_the_y_axis_holds_its_longest_label(browser, values, label):
    spec = {"x": HOURS, "unit": "ms", "height": 220,
            "series": [{"label": "p95", "values": [None] * 22 + values}]}
    page = browser.new_page(viewport={"width": 600, "height": 400})
    try:
        page.set_content(f"<html><body><div class='chart' id='c' data-chart='{json.dumps(spec)}'>"
                         "</div></body></html>")
        page.add_style_tag(path=str(STATIC / "vendor/uplot/uPlot.min.css"))
        page.add_script_tag(path=str(STATIC / "vendor/uplot/uPlot.iife.min.js"))
        page.add_script_tag(path=str(STATIC / "atom.js"))
        page.evaluate("window.atom.wire(document)")
        page.locator("#c .u-over").wait_for()
        fit = page.evaluate(ROOM_JS, label)
        assert fit["room"] >= fit["needed"], fit
    finally:
        page.close()
