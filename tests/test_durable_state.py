"""State survives a round trip through the SQL checkpointer, typed, and nothing else is rebuilt."""

from __future__ import annotations

from pathlib import Path

from langgraph.types import Command
from pydantic import BaseModel

from orchestra import Agent, AgentResult, Decision, OrchestraState, pipeline, vote
from orchestra.checkpoint import SQLCheckpointer
from orchestra.models import ScriptedModel
from orchestra.runtime import run


class Draft(BaseModel):
    title: str


class Stranger(BaseModel):
    """A type no state field declares."""

    secret: str


class ArticleState(OrchestraState):
    draft: Draft | None = None


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def test_records_and_typed_fields_come_back_as_their_types_from_a_new_saver(
    tmp_path: Path,
) -> None:
    flow = pipeline(
        Agent(
            "writer",
            model=ScriptedModel(replies=[{"title": "Tides"}]),
            output=Draft,
            writes="draft",
        ),
        state=ArticleState,
    )
    with SQLCheckpointer(url(tmp_path)) as saver:
        run(flow, "g", thread_id="t", checkpointer=saver)

    with SQLCheckpointer(url(tmp_path)) as fresh:
        values = (
            flow.compile(checkpointer=fresh).get_state({"configurable": {"thread_id": "t"}}).values
        )

    assert isinstance(values["results"][0], AgentResult)
    assert values["draft"] == Draft(title="Tides")


def test_a_type_the_state_does_not_declare_comes_back_as_plain_data(tmp_path: Path) -> None:
    flow = pipeline(Agent("leaky", model=lambda state: None))

    with SQLCheckpointer(url(tmp_path)) as saver:
        app = flow.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        app.invoke({"goal": "g"}, config)
        app.update_state(config, {"output": Stranger(secret="x")})

    with SQLCheckpointer(url(tmp_path)) as fresh:
        output = flow.compile(checkpointer=fresh).get_state(config).values["output"]

    assert output == {"secret": "x"}
    assert not isinstance(output, Stranger)


def test_a_waiting_vote_resumes_from_a_new_process_view_of_the_database(tmp_path: Path) -> None:
    def voter(name: str, answer: str) -> Agent:
        return Agent(name, model=lambda state: {"answer": answer})

    flow = vote(voter("a", "yes"), voter("b", "no"), tie_break="escalate")
    with SQLCheckpointer(url(tmp_path)) as saver:
        assert run(flow, "ship?", thread_id="t", checkpointer=saver).waiting

    with SQLCheckpointer(url(tmp_path)) as fresh:
        done = run(flow, inputs=Command(resume="yes"), thread_id="t", checkpointer=fresh)

    assert done.output == {"answer": "yes"}
    assert all(isinstance(d, Decision) for d in done.state["decisions"])
    assert [d.kind for d in done.state["decisions"]] == ["vote", "escalation"]
