"""The HTML report of a run, opened in real headless Chromium with no network."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

from orchestra.diagrams import html_report
from tests.diagrams.images import png_size
from tests.diagrams.runs import OUTPUT_WITH_MARKUP, desk, run_desk

OFFLINE = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]


class Page(HTMLParser):
    """What a test needs from the rendered DOM: the diagram's text, timeline rows, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.in_svg = 0
        self.diagram_text: list[str] = []
        self.rows: list[str] = []
        self.scripts = 0
        self.svgs = 0
        self._depth: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._depth.append(tag)
        if tag == "section":
            self.sections.append(found.get("id") or "")
        if tag == "svg" and self.sections and self.sections[-1] == "diagram":
            self.svgs += 1
            self.in_svg += 1
        if tag == "tr" and self.sections and self.sections[-1] == "timeline":
            self.rows.append(f"{found.get('class')}:{found.get('data-node')}")
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.sections:
            self.sections.pop()
        if tag == "svg" and self.in_svg:
            self.in_svg -= 1

    def handle_data(self, data: str) -> None:
        if self.in_svg:
            self.diagram_text.append(data.strip())


def chromium_run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            *OFFLINE,
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def test_report_in_chromium_shows_the_diagram_and_the_timeline(
    graphviz_installed: None, chromium: str, tmp_path: Path
) -> None:
    with run_desk(tmp_path / "runs.db", "q3") as saver:
        report = tmp_path / "q3.html"
        report.write_text(html_report(desk(), "q3", saver))
    shot = tmp_path / "shot.png"
    url = report.as_uri()

    chromium_run(chromium, tmp_path / "p1", f"--screenshot={shot}", "--window-size=1200,1600", url)
    dom = chromium_run(chromium, tmp_path / "p2", "--dump-dom", url).stdout

    assert png_size(shot.read_bytes()) == (1200, 1600)
    assert shot.stat().st_size > 20_000  # a blank page is a few kB
    page = Page()
    page.feed(dom)
    assert page.svgs == 1
    for agent in ("analyst", "writer", "editor", "desk.classify", "polish.critic"):
        assert agent in page.diagram_text
    assert "call:analyst" in page.rows
    assert page.rows.count("call:editor") == 2
    assert "decision:desk.classify" in page.rows
    assert page.scripts == 0  # the model's <script> stayed text


def test_report_is_self_contained_and_escapes_model_output(
    graphviz_installed: None, tmp_path: Path
) -> None:
    with run_desk(tmp_path / "runs.db", "q3") as saver:
        html = html_report(desk(), "q3", saver)

    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert OUTPUT_WITH_MARKUP not in html
    for fetching in ("src=", "href=", "url(", "@import"):
        assert fetching not in html
    assert "default-src 'none'" in html
