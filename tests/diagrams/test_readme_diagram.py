"""The README's diagram is the one `make diagrams` draws from graphs/ today."""

from __future__ import annotations

from pathlib import Path

from orchestra.diagrams import draw
from orchestra.diagrams.markdown import refresh_markdown
from orchestra.loading import load_workflow
from tests.diagrams.mermaid_syntax import check_mermaid

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = "<!-- orchestra draw {graph} -->\n```mermaid\n{body}```\n<!-- /orchestra draw -->"


def test_the_readme_diagram_is_current() -> None:
    text = README.read_text()

    assert "<!-- orchestra draw code_review -->\n```mermaid\nflowchart TD" in text
    assert refresh_markdown(text, ROOT) == text, "the README's diagram is stale: run make diagrams"


def test_refresh_redraws_a_stale_block_and_leaves_the_rest(tmp_path: Path) -> None:
    (tmp_path / "team.py").write_text(
        "from orchestra import Agent, pipeline\n"
        "workflow = pipeline(Agent('a', model=len), Agent('b', model=len), name='team')\n"
    )
    stale = "# Team\n\n" + BLOCK.format(graph="team.py", body="flowchart TD\n  old\n") + "\nend\n"

    fresh = refresh_markdown(stale, tmp_path)

    body = fresh.split("```mermaid\n", 1)[1].split("```", 1)[0]
    check_mermaid(body)
    assert "<b>a</b>" in body
    assert "old" not in body
    assert fresh.startswith("# Team\n\n<!-- orchestra draw team.py -->")
    assert fresh.endswith("<!-- /orchestra draw -->\nend\n")
    assert refresh_markdown(fresh, tmp_path) == fresh
    assert str(draw(load_workflow("team.py", root=tmp_path)[0], "mermaid")) == body
