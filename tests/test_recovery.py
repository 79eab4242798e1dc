"""Agent failure handling: retries with backoff on transient errors, timeouts, fallbacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from pydantic import BaseModel
from sqlalchemy import select

from orchestra import Agent, AgentCall, OrchestraState, RetryPolicy, is_transient, pipeline
from orchestra.checkpoint import SQLCheckpointer
from orchestra.checkpoint.schema import journal
from orchestra.errors import CallTimeoutError, DefinitionError, StructuredOutputError
from orchestra.journal import journaling
from orchestra.models import ScriptedModel
from orchestra.recovery import backoff
from orchestra.runtime import run

FAST = RetryPolicy(max_attempts=3, initial_interval=0.01, backoff_factor=2.0, jitter=False)


class Score(BaseModel):
    value: int


def rate_limited() -> openai.RateLimitError:
    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
    response = httpx.Response(429, request=request)
    return openai.RateLimitError("Rate limit reached", response=response, body=None)


def server_error() -> openai.InternalServerError:
    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
    response = httpx.Response(503, request=request)
    return openai.InternalServerError("Service unavailable", response=response, body=None)


Invoke = Callable[[Agent, OrchestraState], AgentCall]


def sync_call(agent: Agent, state: OrchestraState) -> AgentCall:
    return agent.invoke(state)


def async_call(agent: Agent, state: OrchestraState) -> AgentCall:
    return asyncio.run(agent.ainvoke(state))


both = pytest.mark.parametrize("call", [sync_call, async_call], ids=["sync", "async"])


@both
def test_a_transient_error_is_retried_with_exponential_backoff_then_succeeds(
    call: Invoke,
) -> None:
    model = ScriptedModel(replies=[rate_limited(), server_error(), "done"])
    agent = Agent("writer", model=model, retry=FAST)

    started = time.perf_counter()
    answer = call(agent, OrchestraState(goal="g"))

    assert answer.parsed == "done"
    assert answer.result.attempt == 3
    assert len(model.calls) == 3
    retries = [d for d in answer.decisions if d.kind == "retry"]
    assert [d.detail["attempt"] for d in retries] == [2, 3]
    assert [d.detail["delay"] for d in retries] == [0.01, 0.02]
    assert "RateLimitError" in retries[0].reason
    assert "InternalServerError" in retries[1].reason
    assert time.perf_counter() - started >= 0.03  # the backoff was slept, not skipped


def test_jitter_adds_up_to_half_the_interval_and_the_interval_is_capped() -> None:
    policy = RetryPolicy(initial_interval=1.0, backoff_factor=3.0, max_interval=5.0)
    for failures, base in [(1, 1.0), (2, 3.0), (3, 5.0), (4, 5.0)]:
        delays = {backoff(policy, failures) for _ in range(50)}
        assert all(base <= d <= base * 1.5 for d in delays)
        assert len(delays) > 1
    assert backoff(policy._replace(jitter=False), 2) == 3.0


@both
def test_a_non_transient_error_is_not_retried(call: Invoke) -> None:
    model = ScriptedModel(replies=[ValueError("prompt too long"), "never reached"])
    agent = Agent("writer", model=model, retry=FAST)

    with pytest.raises(ValueError, match="prompt too long"):
        call(agent, OrchestraState(goal="g"))

    assert len(model.calls) == 1


@both
def test_an_invalid_answer_is_not_retried_as_a_transient_error(call: Invoke) -> None:
    model = ScriptedModel(replies=[{"value": "x"}, {"value": "y"}, {"value": 3}])
    agent = Agent("scorer", model=model, output=Score, retry=FAST)

    with pytest.raises(StructuredOutputError):
        call(agent, OrchestraState(goal="g"))

    assert len(model.calls) == 2  # structured_retries, not the transient-error retries


@both
def test_the_last_error_is_raised_when_the_retries_run_out(call: Invoke) -> None:
    model = ScriptedModel(replies=[rate_limited(), rate_limited(), rate_limited(), "late"])
    agent = Agent("writer", model=model, retry=FAST)

    with pytest.raises(openai.RateLimitError):
        call(agent, OrchestraState(goal="g"))

    assert len(model.calls) == 3


def test_a_number_of_attempts_retries_only_transient_errors() -> None:
    agent = Agent("writer", model=ScriptedModel(), retry=4)

    assert agent.retry is not None
    assert agent.retry.max_attempts == 4
    assert agent.retry.retry_on is is_transient


def test_transient_errors_are_told_apart_from_the_rest() -> None:
    request = httpx.Request("GET", "https://example.com")
    assert is_transient(rate_limited())
    assert is_transient(server_error())
    assert is_transient(openai.APITimeoutError(request=request))
    assert is_transient(httpx.ConnectError("refused"))
    assert is_transient(TimeoutError())
    assert not is_transient(
        openai.BadRequestError("bad", response=httpx.Response(400, request=request), body=None)
    )
    assert not is_transient(ValueError("bad"))
    assert not is_transient(StructuredOutputError("bad"))


@pytest.mark.parametrize("retry", [0, -1, True, "3", 1.5])
def test_an_invalid_retry_is_refused_when_the_agent_is_defined(retry: Any) -> None:
    with pytest.raises(DefinitionError, match="retry"):
        Agent("writer", model=ScriptedModel(), retry=retry)


@pytest.mark.parametrize("timeout", [0, -2, "5"])
def test_an_invalid_timeout_is_refused(timeout: Any) -> None:
    with pytest.raises(DefinitionError, match="timeout"):
        Agent("writer", model=ScriptedModel(), timeout=timeout)


def test_a_fallback_must_be_an_agent_or_a_chat_model() -> None:
    with pytest.raises(DefinitionError, match="fallback"):
        Agent("writer", model=ScriptedModel(), fallback=[lambda state: "x"])  # type: ignore[list-item]


@both
def test_a_slow_model_times_out_and_a_fallback_model_answers(call: Invoke) -> None:
    slow = ScriptedModel(replies=["too late"], latency=2.0, model_name="small")
    big = ScriptedModel(replies=["in time"], model_name="big")
    agent = Agent("writer", model=slow, timeout=0.05, fallback=big)

    started = time.perf_counter()
    answer = call(agent, OrchestraState(goal="g"))

    assert time.perf_counter() - started < 1.5  # the run did not wait for the slow call
    assert answer.parsed == "in time"
    assert answer.result.agent == "writer"
    assert answer.result.model == "big"
    [fallback] = answer.decisions
    assert (fallback.kind, fallback.at, fallback.choice) == ("fallback", "writer", "big")
    assert "CallTimeoutError" in fallback.reason


@both
def test_a_timed_out_call_is_retried_before_falling_back(call: Invoke) -> None:
    slow = ScriptedModel(latency=1.0, model_name="small")
    big = ScriptedModel(replies=["in time"], model_name="big")
    retry = RetryPolicy(max_attempts=2, initial_interval=0.01, retry_on=is_transient)
    agent = Agent("writer", model=slow, timeout=0.05, retry=retry, fallback=big)

    answer = call(agent, OrchestraState(goal="g"))

    assert [d.kind for d in answer.decisions] == ["retry", "fallback"]
    assert all("CallTimeoutError" in d.reason for d in answer.decisions)
    assert answer.result.attempt == 2


@both
def test_a_fallback_chain_is_tried_in_order_until_one_answers(call: Invoke) -> None:
    primary = ScriptedModel(replies=[ValueError("context too long")], model_name="small")
    backup_model = ScriptedModel(replies=[httpx.ConnectError("refused")], model_name="backup")
    backup = Agent("backup", "Answer briefly.", model=backup_model)
    big = ScriptedModel(replies=["the answer"], model_name="big")
    agent = Agent("writer", "Write.", model=primary, fallback=[backup, big])

    answer = call(agent, OrchestraState(goal="g"))

    assert answer.parsed == "the answer"
    assert (answer.result.agent, answer.result.model) == ("writer", "big")
    assert [(d.kind, d.choice) for d in answer.decisions] == [
        ("fallback", "backup"),
        ("fallback", "big"),
    ]
    assert "ConnectError" in answer.decisions[1].reason
    assert backup_model.calls[0][0].text == "Answer briefly."  # its own instructions
    assert big.calls[0][0].text == "Write."  # the writer's, on another model


@both
def test_every_error_is_raised_when_the_whole_chain_fails(call: Invoke) -> None:
    agent = Agent(
        "writer",
        model=ScriptedModel(replies=[ValueError("first")]),
        fallback=ScriptedModel(replies=[ValueError("second")], model_name="big"),
    )

    with pytest.raises(ValueError, match="second") as raised:
        call(agent, OrchestraState(goal="g"))

    recorded = raised.value.decisions  # type: ignore[attr-defined]
    assert [(d.kind, d.choice) for d in recorded] == [("fallback", "big")]


@both
def test_a_fallback_agent_answers_in_the_schema_of_the_agent_it_stands_in_for(
    call: Invoke,
) -> None:
    primary = ScriptedModel(replies=[{"value": "x"}, {"value": "y"}])
    backup = Agent("careful", model=ScriptedModel(replies=[{"value": 9}]))
    agent = Agent("scorer", model=primary, output=Score, fallback=backup)

    answer = call(agent, OrchestraState(goal="g"))

    assert answer.parsed == Score(value=9)
    assert answer.decisions[0].detail["error"] == "StructuredOutputError"


def test_a_retried_call_does_not_repeat_the_calls_the_agent_had_finished() -> None:
    runs: list[str] = []

    @tool
    def reserve(sku: str) -> str:
        """Reserve one unit of a SKU."""
        runs.append(sku)
        return f"reserved {sku}"

    model = ScriptedModel(
        replies=[
            AIMessage(
                content="", tool_calls=[{"name": "reserve", "args": {"sku": "A1"}, "id": "1"}]
            ),
            rate_limited(),
            "A1 reserved",
        ]
    )
    agent = Agent("clerk", model=model, tools=[reserve], retry=FAST)

    answer = agent.invoke(OrchestraState(goal="reserve A1"))

    assert answer.parsed == "A1 reserved"
    assert runs == ["A1"]
    assert len(model.calls) == 3


def journal_rows(url: str) -> list[tuple[int, str, str]]:
    with SQLCheckpointer(url) as saver, saver.engine.connect() as connection:
        rows = connection.execute(
            select(journal.c.seq, journal.c.kind, journal.c.payload).order_by(journal.c.seq)
        ).all()
    return [(int(r.seq), str(r.kind), str(r.payload)) for r in rows]


def test_failed_tries_are_never_journaled_and_the_successful_one_is_journaled_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = ScriptedModel(replies=["researched"])
    flaky = ScriptedModel(replies=[rate_limited(), rate_limited(), "written"])
    flow = pipeline(Agent("researcher", model=first), Agent("writer", model=flaky, retry=FAST))

    with SQLCheckpointer(url) as saver:
        outcome = run(flow, "g", thread_id="t1", checkpointer=saver)

    assert outcome.output == "written"
    rows = journal_rows(url)
    assert [kind for _, kind, _ in rows] == ["model", "model"]
    assert "written" in rows[1][2]
    assert "Rate limit" not in rows[1][2]
    assert len(first.calls) == 1
    retries = [d for d in outcome.state["decisions"] if d.kind == "retry"]
    assert [d.at for d in retries] == ["writer", "writer"]


@both
def test_a_node_run_again_replays_the_failure_and_the_fallback_instead_of_calling_again(
    call: Invoke, tmp_path: Path
) -> None:
    """After a crash a node runs again: the path taken (primary failed, fallback answered)
    is replayed from the journal, and neither model is called a second time."""
    primary = ScriptedModel(replies=[ValueError("down"), "primary, later"], model_name="small")
    big = ScriptedModel(replies=["fallback answer", "second fallback answer"], model_name="big")
    agent = Agent("writer", model=primary, fallback=big)

    with SQLCheckpointer(f"sqlite:///{tmp_path / 'runs.db'}") as saver:
        config: RunnableConfig = {
            "configurable": {
                "__pregel_checkpointer": saver,
                "thread_id": "t1",
                "checkpoint_ns": "writer:task-1",
            }
        }
        answers = []
        for _ in range(2):
            with journaling(config):
                answers.append(call(agent, OrchestraState(goal="g")))

    assert [a.parsed for a in answers] == ["fallback answer", "fallback answer"]
    assert answers[1].result.model == "big"
    assert (len(primary.calls), len(big.calls)) == (1, 1)


def test_a_sync_function_that_hangs_is_timed_out() -> None:
    def hang(state: Any) -> str:
        time.sleep(1.0)
        return "late"

    agent = Agent("lookup", model=hang, timeout=0.05)

    with pytest.raises(CallTimeoutError, match=r"'lookup'.*0\.05 s"):
        agent.invoke(OrchestraState(goal="g"))


async def test_an_async_function_that_hangs_is_cancelled_at_its_timeout() -> None:
    cancelled = asyncio.Event()

    async def hang(state: Any) -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    agent = Agent("lookup", model=hang, timeout=0.05)

    with pytest.raises(CallTimeoutError):
        await agent.ainvoke(OrchestraState(goal="g"))
    assert cancelled.is_set()


async def test_async_backoff_does_not_block_the_event_loop() -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    slow_retry = RetryPolicy(max_attempts=2, initial_interval=0.5, jitter=False)
    agent = Agent("writer", model=ScriptedModel(replies=[rate_limited(), "ok"]), retry=slow_retry)

    answer, _ = await asyncio.gather(agent.ainvoke(OrchestraState(goal="g")), ticker())

    assert answer.parsed == "ok"
    assert len(ticks) == 5
    assert ticks[-1] - ticks[0] < 0.4  # it kept ticking during the backoff


def test_a_fallback_agent_on_the_default_model_resolves_it_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import orchestra.models

    made: list[ScriptedModel] = []

    def default_model() -> ScriptedModel:
        made.append(ScriptedModel(model_name="default"))
        return made[-1]

    monkeypatch.setattr(orchestra.models, "default_model", default_model)
    backup = Agent("backup")
    agent = Agent(
        "writer", model=ScriptedModel(replies=[ValueError("a"), ValueError("b")]), fallback=backup
    )

    answers = [agent.invoke(OrchestraState(goal="g")) for _ in range(2)]

    assert [a.result.model for a in answers] == ["default", "default"]
    assert len(made) == 1
    assert backup.model is made[0]
