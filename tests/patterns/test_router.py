"""router: one declared route handles the work; undeclared labels never reach a node."""

from __future__ import annotations

from typing import Any

import pytest

from orchestra import Agent, fan_out, router
from orchestra.errors import DefinitionError, RouteError
from orchestra.models import ScriptedModel
from tests.conftest import scripted_agent


def desk(classifier: Any, default: str | None = None) -> Any:
    return router(
        classifier,
        routes={
            "billing": scripted_agent("billing_desk", "refund issued"),
            "technical": scripted_agent("tech_desk", "reboot it"),
        },
        default=default,
    )


def triage(*answers: Any) -> Agent:
    return Agent("triage", "Classify.", model=ScriptedModel(replies=list(answers)))


def test_a_model_routes_through_structured_output_to_the_declared_route() -> None:
    final = (
        desk(triage({"label": "technical", "reason": "error code"}))
        .compile()
        .invoke({"goal": "error 42"})
    )

    assert [r.agent for r in final["results"]] == ["triage", "tech_desk"]
    (decision,) = final["decisions"]
    assert (decision.kind, decision.choice, decision.reason, decision.valid) == (
        "route",
        "technical",
        "error code",
        True,
    )
    assert final["output"] == "reboot it"


def test_the_model_is_offered_exactly_the_route_labels() -> None:
    offered: list[Any] = []

    def respond(messages: Any, tools: list[dict[str, Any]]) -> dict[str, str]:
        offered.append(tools[0]["function"]["parameters"]["properties"]["label"]["enum"])
        return {"label": "billing"}

    desk(Agent("triage", model=ScriptedModel(respond=respond))).compile().invoke({"goal": "g"})

    assert offered == [["billing", "technical"]]


def test_an_unknown_label_from_the_model_goes_to_the_default_and_is_recorded_invalid() -> None:
    flow = desk(triage({"label": "sales"}, {"label": "marketing"}), default="billing")

    final = flow.compile().invoke({"goal": "g"})

    assert [r.agent for r in final["results"]] == ["triage", "billing_desk"]
    (decision,) = final["decisions"]
    assert decision.valid is False
    assert decision.choice == "billing"
    assert "'marketing'" in decision.reason


def test_an_unknown_label_without_a_default_fails_before_reaching_any_node() -> None:
    flow = desk(triage({"label": "sales"}, {"label": "sales"}))

    with pytest.raises(RouteError, match=r"'sales'.*\['billing', 'technical'\]"):
        flow.compile().invoke({"goal": "g"})


def test_a_rule_can_classify() -> None:
    flow = desk(lambda state: "billing" if "refund" in state.goal else "technical")

    final = flow.compile().invoke({"goal": "refund please"})

    assert final["output"] == "refund issued"


def test_a_rule_returning_an_unknown_label_uses_the_default() -> None:
    flow = desk(lambda state: "sales", default="technical")

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == "reboot it"
    assert final["decisions"][0].valid is False


def test_several_labels_may_share_one_handler() -> None:
    general = scripted_agent("general", "answered")
    flow = router(lambda s: "other", routes={"faq": general, "other": general})

    final = flow.compile().invoke({"goal": "g"})

    assert final["output"] == "answered"


def test_the_graph_has_a_labelled_edge_per_route() -> None:
    graph = desk(triage()).compile().get_graph()

    edges = {(e.source, e.target, e.data) for e in graph.edges}
    assert ("triage", "billing_desk", "billing") in edges
    assert ("triage", "tech_desk", "technical") in edges
    assert ("billing_desk", "__end__", None) in edges


def test_routers_nest_inside_a_fan_out() -> None:
    flow = fan_out(desk(lambda s: "billing"), name="outer")

    assert flow.compile().invoke({"goal": "g"})["output"] == {"router": "refund issued"}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: router(lambda s: "a", routes={}), "at least one route"),
        (lambda: desk(lambda s: "x", default="sales"), "default 'sales'"),
    ],
)
def test_bad_definitions_fail_when_built(build: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        build()
