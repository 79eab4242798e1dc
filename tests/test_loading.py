"""Finding a workflow from a file path, a module path, or a name in graphs/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestra import Workflow
from orchestra.loading import GraphNotFound, load_workflow

GRAPH = """
from orchestra import Agent, pipeline
workflow = pipeline(Agent("only", model=lambda state: "done"), name="{name}")
other = pipeline(Agent("second", model=lambda state: "x"), name="other")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "__init__.py").write_text("")
    (tmp_path / "graphs" / "demo_flow.py").write_text(GRAPH.format(name="from_graphs"))
    (tmp_path / "mine.py").write_text(GRAPH.format(name="from_file"))
    return tmp_path


def test_a_file_path_loads_its_workflow(project: Path) -> None:
    workflow, _ = load_workflow("mine.py", root=project)

    assert isinstance(workflow, Workflow)
    assert workflow.name == "from_file"


def test_a_module_path_with_an_attribute_loads_that_attribute(project: Path) -> None:
    workflow, _ = load_workflow("mine.py:other", root=project)

    assert workflow.name == "other"


def test_a_bare_name_is_looked_up_in_graphs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(project))
    # the project's own graphs package may already be imported: look in this project's
    for name in [n for n in sys.modules if n == "graphs" or n.startswith("graphs.")]:
        monkeypatch.delitem(sys.modules, name)

    workflow, _ = load_workflow("demo_flow", root=project)

    assert workflow.name == "from_graphs"


def test_an_unknown_name_lists_the_graphs_there_are(project: Path) -> None:
    with pytest.raises(GraphNotFound, match="demo_flow"):
        load_workflow("nothing_here", root=project)


def test_a_missing_file_says_what_to_give(project: Path) -> None:
    with pytest.raises(GraphNotFound, match="no file"):
        load_workflow("absent.py", root=project)


def test_an_attribute_that_is_not_a_workflow_is_refused(project: Path) -> None:
    with pytest.raises(GraphNotFound, match="no Workflow named 'GRAPH'"):
        load_workflow("mine.py:GRAPH", root=project)
