"""The monthly report in a real browser (headless Chromium, no network): both charts are drawn with
their data points, every table is there, and no script from Connect's text runs. Skipped, saying why,
where no chromium is installed (`make browser` installs Debian's where it can)."""

from __future__ import annotations

import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.browser import chromium
from tests.unit.test_monthly_report import SCRIPT, Month10

SECTIONS = ("summary", "charts", "held", "changes", "unrouted", "missing-tags", "released")


@pytest.fixture(scope="module")
def browser() -> str:
    binary = chromium.find()
    if binary is None:
        pytest.skip("no chromium on PATH: `make browser` installs Debian's chromium with apt-get where it can")
    return binary


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """October's report of an archive whose descriptions, names and principals are hostile: one of
    them, run as a script, would set the page's title to 'pwned'."""
    path = tmp_path_factory.mktemp("report") / "report-2026-10.html"
    path.write_text(Month10().render("html"))
    return path


class Dom(HTMLParser):
    """The elements of a serialized DOM: (tag, attributes, path of enclosing ids), and the page's title
    (the charts' SVG titles are elements of their own)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self.title = ""
        self._open: list[tuple[str, str]] = []  # (tag, id)
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attributes, tuple(i for _, i in self._open if i)))
        if tag not in ("circle", "rect", "path", "line", "meta", "img", "br", "use", "stop"):
            self._open.append((tag, attributes.get("id", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag not in {t for t, _ in self._open}:
            return  # an element that never opened a scope (a void or childless one)
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1][0] == "title" and self._open[-2:-1] == [("head", "")]:
            self.title += data

    def inside(self, element_id: str, tag: str) -> list[dict[str, str]]:
        return [attributes for t, attributes, ids in self.elements if t == tag and element_id in ids]


def test_both_charts_are_drawn_with_their_data_points_and_every_table_is_there(browser: str, page: Path) -> None:
    dom = Dom(chromium.dump_dom(browser, page))
    assert dom.title == "Connect numbers of 123456789012, 2026-10"
    assert [a["id"] for t, a, _ in dom.elements if t == "section"] == list(SECTIONS)
    # One point per night with an inventory (October 1 to 3); one bar per type and night, two of them tall
    points = [a for a in dom.inside("chart-held", "circle") if "dot" in a.get("class", "")]
    assert len(points) == 3
    bars = [a for a in dom.inside("chart-changes", "rect") if "rect" in a.get("class", "").split()]
    assert len(bars) == 4 * 31 and sum(1 for bar in bars if float(bar["height"]) > 0) == 2
    for section in ("held", "changes", "unrouted", "missing-tags", "released"):
        assert dom.inside(section, "table"), section
        assert dom.inside(section, "td"), section


def test_no_script_from_connect_text_runs_or_becomes_an_element(browser: str, page: Path) -> None:
    dom = Dom(chromium.dump_dom(browser, page))
    # The description's script would have set the title; the target name's and principal's would be elements
    assert dom.title != "pwned"
    assert not [t for t, _, _ in dom.elements if t in ("script", "img", "iframe", "object", "a")]
    assert not [a for _, a, _ in dom.elements if any(name.startswith("on") for name in a)]


def test_a_script_that_does_run_is_seen_by_this_tier(browser: str, tmp_path: Path) -> None:
    # The control: the same hostile description, unescaped on a page with no policy, does run
    bare = tmp_path / "bare.html"
    bare.write_text(f"<!DOCTYPE html><html><head><title>report</title></head><body>{SCRIPT}</body></html>")
    assert Dom(chromium.dump_dom(browser, bare)).title == "pwned"


def test_a_screenshot_of_the_report_is_a_png_of_the_window(browser: str, page: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    chromium.screenshot(browser, page, png, width=1024, height=1600)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1024, 1600)
