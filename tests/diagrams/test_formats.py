"""Every workflow in graphs/ drawn for real: SVG and PNG by Graphviz, Mermaid by snapshot.

Mermaid snapshots live in `snapshots/<graph>.mmd`. After a deliberate change to the
drawing, rewrite them with `ORCHESTRA_UPDATE_SNAPSHOTS=1 pytest tests/diagrams` and
review the diff.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

from graphs import WORKFLOWS
from orchestra import Agent, Workflow
from orchestra.diagrams import build_diagram, draw
from tests.diagrams.images import png_size, svg_nodes, svg_text
from tests.diagrams.mermaid_syntax import check_mermaid

SNAPSHOTS = Path(__file__).parent / "snapshots"


def workflow(name: str) -> Workflow[Any]:
    found = importlib.import_module(f"graphs.{name}").workflow
    assert isinstance(found, Workflow)
    return found


def agent_names(flow: Workflow[Any]) -> list[str]:
    return [m.name for m in flow.walk() if isinstance(m, Agent)]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_svg_file_parses_and_shows_every_agent(
    name: str, graphviz_installed: None, tmp_path: Path
) -> None:
    out = tmp_path / f"{name}.svg"

    out.write_text(str(draw(workflow(name), "svg")))

    text = svg_text(out.read_text())
    for agent in agent_names(workflow(name)):
        assert agent in text.splitlines(), f"{agent} not drawn in {name}.svg"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_png_file_is_a_real_image(name: str, graphviz_installed: None, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.png"
    drawn = draw(workflow(name), "png")
    assert isinstance(drawn, bytes)

    out.write_bytes(drawn)

    width, height = png_size(out.read_bytes())
    assert width > 100
    assert height > 100


@pytest.mark.parametrize("name", WORKFLOWS)
def test_png_shows_every_agent_the_svg_shows(name: str, graphviz_installed: None) -> None:
    # Both come from one DOT source: the PNG has every agent when that source has.
    dot = str(draw(workflow(name), "dot"))

    for agent in agent_names(workflow(name)):
        assert f"<b>{agent}</b>" in dot


@pytest.mark.parametrize("name", WORKFLOWS)
def test_mermaid_matches_its_snapshot_and_is_valid(name: str) -> None:
    mermaid = str(draw(workflow(name), "mermaid"))
    snapshot = SNAPSHOTS / f"{name}.mmd"
    if os.environ.get("ORCHESTRA_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(mermaid)

    check_mermaid(mermaid)
    assert mermaid == snapshot.read_text(), (
        f"{name}'s diagram changed: if on purpose, rerun with ORCHESTRA_UPDATE_SNAPSHOTS=1"
    )
    for agent in agent_names(workflow(name)):
        assert f"<b>{agent}</b>" in mermaid


def test_the_mermaid_check_rejects_what_breaks_mermaid() -> None:
    good = 'flowchart TD\n  n_a("<b>a</b>")\n  n_b("b")\n  n_a --> n_b\n'
    check_mermaid(good)

    for broken in (
        good.replace("flowchart TD", "graph TD;"),
        good.replace('("b")', '("b "quoted"")'),
        good.replace("n_a --> n_b", "n_a --> n_c"),
        good + "  end\n",
        good.replace('("b")', "(b)"),
    ):
        with pytest.raises(AssertionError):
            check_mermaid(broken)


def test_ascii_lists_every_agent_with_its_team(graphviz_installed: None) -> None:
    text = str(draw(workflow("finance"), "ascii"))

    assert "[market_team · supervisor]" in text
    for agent in agent_names(workflow("finance")):
        assert f" {agent}  (" in text


def test_conflict_resolution_points_get_their_own_kind_and_shape(
    graphviz_installed: None,
) -> None:
    review = build_diagram(workflow("code_review"))
    content = build_diagram(workflow("content"))
    kinds = {n.name: n.kind for n in (*review.nodes, *content.nodes)}

    assert kinds["panel.tally"] == "vote"
    assert kinds["comment.judge"] == kinds["arbiter"] == "judge"
    assert kinds["writer.gate"] == kinds["editor.gate"] == "validation"
    assert kinds["security"] == "agent"
    arbiter, tally = review.node("arbiter"), review.node("panel.tally")
    assert arbiter is not None
    assert tally is not None
    assert (arbiter.model, tally.model) == ("default model", "")  # an agent, and a rule
    nodes = svg_nodes(str(draw(workflow("code_review"), "svg")))
    shapes = {title: group[1].tag for title, group in nodes.items()}
    # An agent is a rounded box (a path); a vote a hexagon and a judge an octagon (polygons).
    assert shapes["panel/security"].endswith("path")
    assert shapes["panel/panel.tally"].endswith("polygon")
    sides = {
        title: len(nodes[title][1].get("points", "").split()) - 1
        for title in ("panel/panel.tally", "panel/arbiter")
    }
    assert sides == {"panel/panel.tally": 6, "panel/arbiter": 8}


def test_nested_teams_are_boxes_and_depth_collapses_deeper_ones() -> None:
    full = build_diagram(workflow("finance"))
    shallow = build_diagram(workflow("finance"), depth=1)

    assert [c.id for c in full.clusters] == [
        "desk",
        "desk:fundamentals_team",
        "desk:market_team",
    ]
    assert [c.id for c in shallow.clusters] == ["desk"]
    team = shallow.node("market_team")
    assert team is not None
    assert team.kind == "team"
    assert team.model == "supervisor"
    assert shallow.node("prices") is None
    assert build_diagram(workflow("finance"), depth=0).clusters == ()


def test_routes_are_labelled_with_the_route_name() -> None:
    edges = build_diagram(workflow("finance")).edges

    labels = {(e.source, e.target): (e.label, e.conditional) for e in edges}
    assert labels[("desk:lead", "desk:market_team:market_lead")] == ("market_team", True)
    assert labels[("desk:lead", "report")] == ("FINISH", True)
    assert labels[("desk:market_team:prices", "desk:market_team:market_lead")] == ("", False)


def test_a_refine_loop_draws_its_loop_back() -> None:
    edges = build_diagram(workflow("support")).edges

    assert ("reply:reviewer", "reply:replier", "revise") in {
        (e.source, e.target, e.label) for e in edges
    }


def test_deciding_agents_show_their_model() -> None:
    from pydantic import BaseModel

    from orchestra import Conflict, fan_out, supervisor
    from orchestra.models.scripted import ScriptedModel

    class Verdict(BaseModel):
        answer: str

    def voter(name: str) -> Agent:
        return Agent(name, model=lambda state: Verdict(answer=name), output=Verdict)

    judge = Agent("referee", "Settle it.", model=ScriptedModel(model_name="judge-model"))
    panel = fan_out(voter("a"), voter("b"), conflict=Conflict(resolve=judge), name="panel")
    lead = Agent("lead", "Delegate.", model=ScriptedModel(model_name="lead-model"))

    nodes = {n.id: n for n in build_diagram(supervisor([panel], manager=lead)).nodes}

    assert (nodes["lead"].kind, nodes["lead"].model) == ("manager", "lead-model")
    assert (nodes["panel:referee"].kind, nodes["panel:referee"].model) == ("judge", "judge-model")
