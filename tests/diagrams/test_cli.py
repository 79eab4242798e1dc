"""`orchestra draw` through the real command line, in subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.command import orchestra
from tests.diagrams.images import png_size, svg_text

GRAPH = """
from orchestra import Agent, pipeline
from orchestra.models import ScriptedModel

GOAL = "Summarise Q3."
workflow = pipeline(
    Agent("analyst", model=ScriptedModel(replies=["revenue up 4%"])),
    Agent("editor", model=ScriptedModel(replies=["Revenue rose 4%."])),
    name="report",
)
"""


def test_draw_writes_svg_and_png_files(graphviz_installed: None, tmp_path: Path) -> None:
    (tmp_path / "report.py").write_text(GRAPH)

    svg = orchestra("draw", "report.py", "-f", "svg", "--out", "d/report.svg", cwd=tmp_path)
    png = orchestra("draw", "report.py", "-f", "png", "--out", "d/report.png", cwd=tmp_path)

    assert (svg.returncode, png.returncode) == (0, 0), svg.stderr + png.stderr
    assert {"analyst", "editor"} <= set(svg_text((tmp_path / "d/report.svg").read_text()).split())
    assert png_size((tmp_path / "d/report.png").read_bytes())[0] > 50


def test_without_graphviz_svg_says_how_to_install_it_and_mermaid_still_draws(
    tmp_path: Path,
) -> None:
    (tmp_path / "report.py").write_text(GRAPH)
    (tmp_path / "bin").mkdir()  # a PATH with no `dot` on it
    no_dot = str(tmp_path / "bin")

    failed = orchestra("draw", "report.py", "-f", "svg", "--json", cwd=tmp_path, PATH=no_dot)
    mermaid = orchestra("draw", "report.py", "-f", "mermaid", cwd=tmp_path, PATH=no_dot)

    assert failed.returncode == 1
    error = json.loads(failed.stdout)
    assert error["error_type"] == "GraphvizMissing"
    assert "apt-get install graphviz" in error["error"]
    assert "--format mermaid, dot or ascii" in error["error"]
    assert mermaid.returncode == 0
    assert mermaid.stdout.startswith("flowchart TD")


def test_draw_html_and_report_write_the_run_report(
    graphviz_installed: None, tmp_path: Path
) -> None:
    (tmp_path / "report.py").write_text(GRAPH)
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    ran = orchestra("run", "report.py", "--thread", "q3", "--db", db, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr

    drawn = orchestra(
        "draw", "report.py", "--thread", "q3", "--html", "--db", db, "--json", cwd=tmp_path
    )

    assert drawn.returncode == 0, drawn.stderr
    out = json.loads(drawn.stdout)["out"]
    html = (tmp_path / out).read_text()
    assert out == "q3.html"
    assert '<section id="diagram">' in html
    assert '<tr class="call" data-node="editor">' in html
    reported = orchestra("report", "q3", "--out", "r/q3.html", "--db", db, cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr
    assert (tmp_path / "r/q3.html").read_text().count('<tr class="call"') == html.count(
        '<tr class="call"'
    )


def test_draw_html_without_a_thread_says_to_give_one(tmp_path: Path) -> None:
    (tmp_path / "report.py").write_text(GRAPH)

    failed = orchestra("draw", "report.py", "--html", "--json", cwd=tmp_path)

    assert failed.returncode == 1
    assert "--thread" in json.loads(failed.stdout)["error"]
