"""supervisor: a manager delegates until FINISH, within a bound; supervisors nest."""

from __future__ import annotations

from typing import Any

import pytest

from orchestra import Agent, OrchestraState, pipeline, supervisor
from orchestra.errors import DefinitionError, RouteError
from orchestra.models import ScriptedModel
from tests.conftest import scripted_agent


def manager(*choices: str) -> Agent:
    return Agent(
        "lead",
        "Plan the work.",
        model=ScriptedModel(replies=[{"next": c, "reason": f"{c} next"} for c in choices]),
    )


def test_the_manager_delegates_until_it_finishes() -> None:
    team = supervisor(
        [scripted_agent("research", "facts"), scripted_agent("write", "article")],
        manager=manager("research", "write", "FINISH"),
    )

    final = team.compile().invoke({"goal": "g"})

    workers = [r.agent for r in final["results"] if r.kind != "control"]
    assert workers == ["research", "write"]
    assert [(d.choice, d.round) for d in final["decisions"]] == [
        ("research", 1),
        ("write", 2),
        ("FINISH", 3),
    ]
    assert final["output"] == "article"


def test_the_manager_is_offered_only_its_workers_and_finish() -> None:
    offered: list[Any] = []

    def respond(messages: Any, tools: list[dict[str, Any]]) -> dict[str, str]:
        offered.append(tools[0]["function"]["parameters"]["properties"]["next"]["enum"])
        return {"next": "FINISH"}

    team = supervisor(
        [scripted_agent("a", description="does a"), scripted_agent("b")],
        manager=Agent("lead", "Plan.", model=ScriptedModel(respond=respond)),
    )

    team.compile().invoke({"goal": "g"})

    assert offered == [["a", "b", "FINISH"]]


def test_the_manager_prompt_lists_each_worker_with_its_description() -> None:
    model = ScriptedModel(replies=[{"next": "FINISH"}])
    team = supervisor(
        [Agent("auditor", "Check the books.", model=ScriptedModel())],
        manager=Agent("lead", "Plan.", model=model),
    )

    team.compile().invoke({"goal": "g"})

    assert "- auditor: Check the books." in model.calls[0][0].text


def test_a_manager_that_keeps_choosing_the_same_worker_stops_at_max_rounds() -> None:
    busy = Agent("lead", "Plan.", model=ScriptedModel(respond=lambda m, t: {"next": "loop"}))
    team = supervisor([scripted_agent("loop")], manager=busy, max_rounds=3)

    final = team.compile().invoke({"goal": "g"})

    assert OrchestraState(**final).visits == {"lead": 3, "loop": 3}
    assert [r.agent for r in final["results"] if r.kind != "control"] == ["loop"] * 3
    last = final["decisions"][-1]
    assert (last.kind, last.choice, last.round) == ("limit", "FINISH", 4)
    assert "max_rounds=3" in last.reason


def test_a_rule_can_be_the_manager() -> None:
    def rule(state: Any) -> str:
        return "write" if state.latest("write") is None else "FINISH"

    team = supervisor([scripted_agent("write", "done")], manager=rule)

    final = team.compile().invoke({"goal": "g"})

    assert [r.agent for r in final["results"]] == ["write"]
    assert [d.at for d in final["decisions"]] == ["supervisor.manager"] * 2


def test_a_rule_naming_an_unknown_worker_fails_with_the_valid_names() -> None:
    team = supervisor([scripted_agent("write")], manager=lambda state: "publisher")

    with pytest.raises(RouteError, match=r"'publisher'.*\['write', 'FINISH'\]"):
        team.compile().invoke({"goal": "g"})


def test_a_model_answer_outside_the_workers_finishes_and_is_recorded_invalid() -> None:
    team = supervisor(
        [scripted_agent("write")],
        manager=manager("publisher", "publisher"),
    )

    final = team.compile().invoke({"goal": "g"})

    (decision,) = final["decisions"]
    assert decision.choice == "FINISH"
    assert decision.valid is False
    assert "publisher" in decision.reason
    assert [r.agent for r in final["results"]] == ["lead"]


def test_a_supervisor_can_delegate_to_a_pipeline() -> None:
    drafting = pipeline(
        scripted_agent("outline", "o"), scripted_agent("draft", "d"), name="drafting"
    )
    team = supervisor(
        [drafting, scripted_agent("review", "r")], manager=manager("drafting", "review", "FINISH")
    )

    final = team.compile().invoke({"goal": "g"})

    ran = [r.agent for r in final["results"] if r.kind != "control"]
    assert ran == ["outline", "draft", "drafting", "review"]


def test_supervisors_nest_manager_to_sub_managers_to_workers() -> None:
    market = supervisor(
        [scripted_agent("pricing", "p"), scripted_agent("competitors", "c")],
        manager=Agent(
            "market_lead",
            model=ScriptedModel(
                replies=[{"next": "pricing"}, {"next": "competitors"}, {"next": "FINISH"}]
            ),
        ),
        name="market",
    )
    books = supervisor(
        [scripted_agent("ledger", "l")],
        manager=Agent(
            "books_lead", model=ScriptedModel(replies=[{"next": "ledger"}, {"next": "FINISH"}])
        ),
        name="books",
    )
    firm = supervisor(
        [market, books],
        manager=Agent(
            "cfo",
            model=ScriptedModel(
                replies=[{"next": "market"}, {"next": "books"}, {"next": "FINISH"}]
            ),
        ),
    )

    app = firm.compile()
    final = app.invoke({"goal": "g"})

    ran = [r.agent for r in final["results"] if r.kind != "control"]
    assert ran == ["pricing", "competitors", "market", "ledger", "books"]
    assert [d.at for d in final["decisions"] if d.choice == "FINISH"] == [
        "market_lead",
        "books_lead",
        "cfo",
    ]
    nodes = set(app.get_graph(xray=True).nodes)
    assert {"market:pricing", "market:competitors", "books:ledger", "cfo"} <= nodes


def test_the_graph_has_an_edge_to_every_worker_and_back() -> None:
    team = supervisor([scripted_agent("a"), scripted_agent("b")], manager=manager())

    graph = team.compile().get_graph()

    edges = {(e.source, e.target) for e in graph.edges}
    assert edges == {
        ("__start__", "lead"),
        ("lead", "a"),
        ("lead", "b"),
        ("lead", "__end__"),
        ("a", "lead"),
        ("b", "lead"),
    }


def test_max_rounds_below_one_is_rejected() -> None:
    with pytest.raises(DefinitionError, match="max_rounds"):
        supervisor([scripted_agent("a")], manager=manager(), max_rounds=0)


def test_names_must_be_unique_across_nested_workflows() -> None:
    inner = supervisor([scripted_agent("worker")], manager=lambda s: "FINISH", name="inner")

    with pytest.raises(DefinitionError, match="'worker' is used twice"):
        supervisor([inner, scripted_agent("worker")], manager=lambda s: "inner")


def test_nested_rule_managers_keep_their_own_rounds() -> None:
    inner = supervisor(
        [scripted_agent("worker", *["w"] * 10)],
        manager=lambda state: (
            "worker"
            if state.latest_decision("inner.manager") is None
            or state.latest_decision("inner.manager").choice == "FINISH"
            else "FINISH"
        ),
        name="inner",
    )
    outer = supervisor([inner], manager=lambda state: "inner", max_rounds=2, name="outer")

    final = outer.compile().invoke({"goal": "g"})

    outer_rounds = [(d.choice, d.round) for d in final["decisions"] if d.at == "outer.manager"]
    assert outer_rounds == [("inner", 1), ("inner", 2), ("FINISH", 3)]
    assert [r.agent for r in final["results"] if r.kind == "model"] == ["worker", "worker"]
