"""Real LangGraph graphs run on the saver, and resumed by a new saver instance."""

from __future__ import annotations

from langgraph.types import Command

from orchestra.checkpoint import SQLCheckpointer
from tests.checkpoint.graphs import pipeline, review


def test_graph_stopped_at_an_interrupt_is_resumed_by_a_new_saver_instance(db_url: str) -> None:
    config = {"configurable": {"thread_id": "review-1"}}
    with SQLCheckpointer(db_url) as first:
        paused = review(first).invoke({"draft": "essay", "log": []}, config)
    assert paused["__interrupt__"][0].value == {"question": "approve?", "draft": "essay drafted"}

    with SQLCheckpointer(db_url) as second:
        app = review(second)
        assert app.get_state(config).next == ("ask",)
        done = app.invoke(Command(resume="yes"), config)
        history = list(app.get_state_history(config))

    assert done == {"draft": "essay drafted (yes)", "log": ["write", "ask", "publish"]}
    assert [s.metadata["step"] for s in history] == [3, 2, 1, 0, -1]


async def test_async_graph_stopped_at_an_interrupt_is_resumed_by_a_new_saver_instance(
    db_url: str,
) -> None:
    config = {"configurable": {"thread_id": "review-async"}}
    async with SQLCheckpointer(db_url) as first:
        paused = await review(first).ainvoke({"draft": "memo", "log": []}, config)
    assert "__interrupt__" in paused

    async with SQLCheckpointer(db_url) as second:
        done = await review(second).ainvoke(Command(resume="no"), config)
    assert done == {"draft": "memo drafted (no)", "log": ["write", "ask", "publish"]}


def test_pipeline_continues_a_finished_thread_from_its_stored_state(db_url: str) -> None:
    config = {"configurable": {"thread_id": "pipe"}}
    with SQLCheckpointer(db_url) as first:
        assert pipeline(5, first).invoke({"counter": 0, "doc": "d"}, config)["counter"] == 5
    with SQLCheckpointer(db_url) as second:
        # Only `counter` is given: `doc` must come back from the database.
        again = pipeline(5, second).invoke({"counter": 10}, config)
    assert again == {"counter": 15, "doc": "d"}


def test_forks_of_one_checkpoint_keep_their_own_values(saver: SQLCheckpointer) -> None:
    app = pipeline(2, saver)
    config = {"configurable": {"thread_id": "fork"}}
    app.invoke({"counter": 0, "doc": "original"}, config)
    first_checkpoint = list(app.get_state_history(config))[-2].config  # after the input step

    # Two forks of the same checkpoint each bump `doc` from the same version.
    left = app.update_state(first_checkpoint, {"doc": "left"})
    right = app.update_state(first_checkpoint, {"doc": "right"})

    assert app.get_state(left).values["doc"] == "left"
    assert app.get_state(right).values["doc"] == "right"
    assert app.get_state(config).values["doc"] == "right"  # the newest checkpoint


def test_an_existing_sqlalchemy_engine_can_back_the_saver(db_url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    try:
        with SQLCheckpointer(engine) as saver:
            assert saver.engine is engine
            result = pipeline(2, saver).invoke(
                {"counter": 0, "doc": "e"}, {"configurable": {"thread_id": "engine"}}
            )
        assert result == {"counter": 2, "doc": "e"}
    finally:
        engine.dispose()
