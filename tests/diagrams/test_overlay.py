"""A run's path drawn over its workflow, checked from the rendered SVG itself."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from langgraph.types import interrupt

from orchestra import Agent, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.diagrams import draw, read_overlay
from orchestra.errors import ThreadNotFound
from orchestra.runtime import run
from tests.diagrams.images import SVG, svg_nodes
from tests.diagrams.mermaid_syntax import check_mermaid
from tests.diagrams.runs import desk, run_desk


def fill(group: object) -> str:
    shape = next(iter(group.iter()))  # type: ignore[attr-defined]
    for child in shape:
        if child.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse"):
            return str(child.get("fill"))
    raise AssertionError("node has no shape")


def test_visited_and_unvisited_nodes_are_drawn_differently_in_the_svg(
    graphviz_installed: None, tmp_path: Path
) -> None:
    with run_desk(tmp_path / "runs.db", "q3") as saver:
        svg = str(draw(desk(), "svg", thread="q3", checkpointer=saver))

    nodes = svg_nodes(svg)
    taken, skipped = nodes["desk/analyst"], nodes["desk/writer"]
    assert "visited" in taken.get("class", "").split()
    assert "unvisited" in skipped.get("class", "").split()
    assert fill(taken) != fill(skipped)
    assert "stroke-dasharray" not in str(taken[1].attrib)
    assert "stroke-dasharray" in str(skipped[1].attrib)


def test_the_overlay_counts_visits_time_and_tokens_per_agent(tmp_path: Path) -> None:
    with run_desk(tmp_path / "runs.db", "q3") as saver:
        overlay = read_overlay(desk(), saver, "q3")
        text = str(draw(desk(), "ascii", thread="q3", checkpointer=saver))

    assert overlay.status == "done"
    assert overlay.stats["editor"].visits == 2
    assert overlay.stats["analyst"].visits == 1
    assert overlay.stats["analyst"].tokens > 0
    assert "writer" not in overlay.stats
    assert "* editor  (agent · function)  [×2" in text
    assert "─   writer  (agent" in text  # no visited mark


def test_a_failed_run_is_marked_where_it_stopped(graphviz_installed: None, tmp_path: Path) -> None:
    with run_desk(tmp_path / "runs.db", "broken", fail_editor=True) as saver:
        overlay = read_overlay(desk(True), saver, "broken")
        svg = str(draw(desk(True), "svg", thread="broken", checkpointer=saver))
        mermaid = str(draw(desk(True), "mermaid", thread="broken", checkpointer=saver))

    assert overlay.status == "failed"
    assert overlay.stopped_at == {"polish:editor"}
    assert "stopped" in svg_nodes(svg)["polish/editor"].get("class", "").split()
    assert "FAILED" in svg
    check_mermaid(mermaid)
    assert "class n_polish_editor stopped" in mermaid


def test_a_visited_edge_is_drawn_differently_from_an_untaken_route(
    graphviz_installed: None, tmp_path: Path
) -> None:
    with run_desk(tmp_path / "runs.db", "q3") as saver:
        svg = str(draw(desk(), "svg", thread="q3", checkpointer=saver))

    edges = {
        g.findtext(f"{SVG}title"): g.get("class", "")
        for g in ET.fromstring(svg).iter(f"{SVG}g")
        if "edge" in g.get("class", "").split()
    }
    assert "visited" in edges["desk/desk.classify->desk/analyst"].split()
    assert "unvisited" in edges["desk/desk.classify->desk/writer"].split()


def test_an_unknown_thread_says_what_to_check(tmp_path: Path) -> None:
    with run_desk(tmp_path / "runs.db", "q3") as saver, pytest.raises(ThreadNotFound):
        draw(desk(), "mermaid", thread="nope", checkpointer=saver)


def test_a_run_waiting_for_a_human_is_marked_at_the_question(
    graphviz_installed: None, tmp_path: Path
) -> None:
    def ask(state: object) -> object:
        return interrupt("Approve the refund?")

    refunds = pipeline(
        Agent("drafter", model=lambda state: "refund 40 EUR"),
        Agent("approver", model=ask),
        Agent("sender", model=lambda state: "sent"),
        name="refunds",
    )
    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        assert run(refunds, "Refund order 7.", thread_id="r7", checkpointer=saver).waiting
        svg = str(draw(refunds, "svg", thread="r7", checkpointer=saver))

    nodes = svg_nodes(svg)
    assert "stopped" in nodes["approver"].get("class", "").split()
    assert "visited" in nodes["drafter"].get("class", "").split()
    assert "unvisited" in nodes["sender"].get("class", "").split()
    assert "WAITING" in svg
