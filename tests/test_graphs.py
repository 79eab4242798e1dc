"""The ready-made workflows in `graphs/`, run end to end on an in-process scripted model.

Each responder below plays every model of one workflow, answering by the schema it is asked
for (the structured-output tool's name) or by the agent's instructions (the system prompt),
so each run takes a chosen, meaningful path through the graph.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from graphs import WORKFLOWS, code_review, content, diligence, finance, orders, support
from orchestra import AgentResult, Workflow
from orchestra.models import ScriptedModel
from orchestra.runtime import aresume, arun
from orchestra.runtime import resume as sync_resume
from orchestra.runtime import run as sync_run

ROOT = Path(__file__).resolve().parents[1]
MODES = ["invoke", "ainvoke"]

Messages = list[BaseMessage]
Tools = list[dict[str, Any]]


def schema(tools: Tools) -> str | None:
    """The structured-output schema the model is asked to fill, if any."""
    return tools[0]["function"]["name"] if tools else None


def options(tools: Tools, field: str) -> list[str]:
    """The values a choice schema's `field` allows."""
    return list(tools[0]["function"]["parameters"]["properties"][field]["enum"])


def system(messages: Messages) -> str:
    return messages[0].text


def prompt(messages: Messages) -> str:
    return messages[-1].text


async def run(workflow: Workflow[Any], goal: str, mode: str) -> dict[str, Any]:
    app = workflow.compile()
    if mode == "ainvoke":
        return await app.ainvoke({"goal": goal})
    return app.invoke({"goal": goal})


async def maybe(value: Any) -> Any:
    """The value, awaited if it is a coroutine (so one test drives run and arun)."""
    return await value if inspect.isawaitable(value) else value


def agents(out: dict[str, Any]) -> list[str]:
    return [result.agent for result in out["results"]]


def choices(out: dict[str, Any], at: str) -> list[str | None]:
    return [decision.choice for decision in out["decisions"] if decision.at == at]


def latest(out: dict[str, Any], agent: str) -> Any:
    return next(r.output for r in reversed(out["results"]) if r.agent == agent)


# -- content -------------------------------------------------------------------------

ARTICLE = "Heat pumps, explained\n" + " ".join(
    ["A heat pump moves heat instead of making it, so it uses less power."] * 10
)


def content_model(*, drafts: list[str], fact_checks: list[dict[str, Any]]) -> ScriptedModel:
    drafts, fact_checks = list(drafts), list(fact_checks)

    def respond(messages: Messages, tools: Tools) -> Any:
        if schema(tools) == "Notes":
            return {"facts": ["Heat pumps move heat.", "They cost $8k-$15k installed."]}
        if schema(tools) == "Outline":
            return {"title": "Heat pumps, explained", "sections": ["How", "Cost", "Savings"]}
        if schema(tools) == "Verdict":
            return fact_checks.pop(0)
        if system(messages).startswith("Write the article"):
            return drafts.pop(0)
        if system(messages).startswith("Edit the article"):
            return "EDITED " + ARTICLE
        raise AssertionError(f"unexpected call: {system(messages)[:60]}")

    return ScriptedModel(respond=respond)


@pytest.mark.parametrize("mode", MODES)
async def test_content_format_gate_sends_a_short_draft_back_once_then_passes(mode: str) -> None:
    model = content_model(
        drafts=["Heat pumps\nToo short.", ARTICLE], fact_checks=[{"passed": True}]
    )

    out = await run(content.build(model), content.GOAL, mode)

    assert agents(out) == ["researcher", "outliner", "writer", "writer", "editor", "fact_checker"]
    assert choices(out, "writer.gate") == ["retry", "pass"]
    assert choices(out, "editor.gate") == ["pass"]
    rewrite = next(c for c in reversed(model.calls) if system(c).startswith("Write the article"))
    assert "Too short: 4 words" in prompt(rewrite)
    assert out["output"] == "EDITED " + ARTICLE


async def test_content_fact_check_failure_sends_the_draft_back_to_the_writer() -> None:
    unsupported = {"passed": False, "reason": "The $2k price is not in the notes."}
    model = content_model(drafts=[ARTICLE, ARTICLE], fact_checks=[unsupported, {"passed": True}])

    out = await run(content.build(model), content.GOAL, "invoke")

    assert agents(out)[2:] == ["writer", "editor", "fact_checker"] * 2
    assert choices(out, "editor.gate") == ["retry", "pass"]
    assert choices(out, "writer.gate") == ["pass", "pass"]
    redraft = [c for c in model.calls if system(c).startswith("Write the article")][1]
    assert "The $2k price is not in the notes." in prompt(redraft)


async def test_content_fact_check_failing_twice_stops_the_pipeline_at_the_editor() -> None:
    unsupported = {"passed": False, "reason": "The $2k price is not in the notes."}
    model = content_model(drafts=[ARTICLE, ARTICLE], fact_checks=[unsupported, unsupported])

    out = await run(content.build(model), content.GOAL, "invoke")

    assert agents(out).count("writer") == 2
    assert agents(out).count("editor") == 2
    assert agents(out)[-1] == "fact_checker"
    assert choices(out, "editor.gate") == ["retry", "stop"]


def test_content_format_check_rejects_a_draft_without_a_short_title_line() -> None:
    long_title = AgentResult(agent="writer", output="x" * 90 + "\n" + "word " * 100)

    assert not content.check_format(None, long_title).passed
    assert content.check_format(None, AgentResult(agent="writer", output=ARTICLE)).passed


# -- support -------------------------------------------------------------------------


def support_model(
    *, label: str, billing: dict[str, Any] | None = None, critiques: list[dict[str, Any]]
) -> ScriptedModel:
    critiques = list(critiques)

    def respond(messages: Messages, tools: Tools) -> Any:
        if schema(tools) == "Route":
            return {"label": label, "reason": "from the ticket"}
        if schema(tools) == "BillingPlan":
            return billing
        if schema(tools) == "Critique":
            return critiques.pop(0)
        if system(messages).startswith("Write the reply"):
            return "Dear Dana, a team lead will review your refund within 2 days."
        return "Please restart the device and try again."

    return ScriptedModel(respond=respond)


@pytest.mark.parametrize("mode", MODES)
async def test_support_refund_over_the_limit_waits_for_a_team_lead_then_replies(
    mode: str,
) -> None:
    model = support_model(
        label="billing",
        billing={"action": "refund", "amount_usd": 149.0, "summary": "Duplicate charge."},
        critiques=[{"approved": True}],
    )
    flow, saver = support.build(model), InMemorySaver()
    start, proceed = (arun, aresume) if mode == "ainvoke" else (sync_run, sync_resume)

    waiting = await maybe(start(flow, support.GOAL, thread_id="t", checkpointer=saver))

    assert waiting.status == "waiting"
    (question,) = waiting.interrupts
    assert "over the $100 agent limit" in question.value["reason"]
    assert question.value["results"]["policy"]["escalate"] is True
    assert not any(system(c).startswith("Write the reply") for c in model.calls)

    answer = "accept: approved by team lead Ana, refund the duplicate $149"
    done = await maybe(proceed(flow, "t", answer=answer, checkpointer=saver))

    assert done.status == "done"
    names = agents(done.state)
    assert names[:5] == ["triage", "billing", "desk", "policy", "policy.escalate"]
    assert names[5:] == ["replier", "reviewer", "reply"]
    assert choices(done.state, "policy.gate") == ["escalate"]
    assert choices(done.state, "policy.escalate") == ["accept"]
    replier_prompt = next(c for c in model.calls if system(c).startswith("Write the reply"))
    assert "approved by team lead Ana" in prompt(replier_prompt)


async def test_support_team_lead_can_send_the_ticket_back_to_the_desk() -> None:
    plans = [
        {"action": "refund", "amount_usd": 149.0, "summary": "Duplicate charge."},
        {"action": "credit", "amount_usd": 50.0, "summary": "Goodwill credit."},
    ]
    billing_prompts: list[str] = []
    desk = support_model(label="billing", critiques=[{"approved": True}]).respond
    assert desk is not None

    def respond(messages: Messages, tools: Tools) -> Any:
        if schema(tools) != "BillingPlan":
            return desk(messages, tools)
        billing_prompts.append(prompt(messages))
        return plans.pop(0)

    model = ScriptedModel(respond=respond)
    flow, saver = support.build(model), InMemorySaver()
    sync_run(flow, support.GOAL, thread_id="t", checkpointer=saver)

    done = sync_resume(flow, "t", answer="retry: offer a $50 credit instead", checkpointer=saver)

    assert done.status == "done"
    assert "offer a $50 credit instead" in billing_prompts[1]
    assert latest(done.state, "policy")["note"] == "A credit of $50.00 is approved."
    assert choices(done.state, "policy.gate") == ["escalate", "pass"]


async def test_support_refund_within_the_limit_is_approved() -> None:
    model = support_model(
        label="billing",
        billing={"action": "refund", "amount_usd": 39.0, "summary": "Charger never arrived."},
        critiques=[{"approved": True}],
    )
    goal = "Ticket from li.wei@example.com: order A1077 never arrived, please refund it."

    out = await run(support.build(model), goal, "invoke")

    assert latest(out, "policy") == {
        "approved": True,
        "escalate": False,
        "note": "A refund of $39.00 is approved.",
    }


async def test_support_refund_outside_the_window_is_flagged_whatever_the_amount() -> None:
    model = support_model(
        label="billing",
        billing={"action": "credit", "amount_usd": 20.0, "summary": "Goodwill."},
        critiques=[{"approved": True}],
    )
    goal = "Ticket from sam.okafor@example.com: my thermostat from order A0931 broke."

    waiting = sync_run(support.build(model), goal, checkpointer=InMemorySaver())

    assert waiting.status == "waiting"
    assert latest(waiting.state, "policy")["escalate"] is True
    assert "30-day refund window" in waiting.interrupts[0].value["reason"]


async def test_support_technical_ticket_skips_billing_and_needs_no_policy_ruling() -> None:
    model = support_model(label="technical", critiques=[{"approved": True}])
    goal = "Ticket: my headphones from order A1042 will not pair over Bluetooth."

    out = await run(support.build(model), goal, "invoke")

    assert agents(out)[:3] == ["triage", "technical", "desk"]
    assert "billing" not in agents(out)
    assert latest(out, "policy")["note"] == "No money movement proposed."


async def test_support_unknown_desk_label_falls_back_to_general() -> None:
    model = support_model(label="shipping", critiques=[{"approved": True}])

    out = await run(support.build(model), "Ticket: where is my parcel?", "invoke")

    route = next(d for d in out["decisions"] if d.at == "triage")
    assert route.choice == "general"
    assert route.valid is False
    assert "general" in agents(out)


async def test_support_reviewer_sends_the_reply_back_once_with_its_feedback() -> None:
    model = support_model(
        label="billing",
        billing={"action": "explain", "amount_usd": 0.0, "summary": "Pre-authorisation hold."},
        critiques=[{"approved": False, "feedback": "Apologise first."}, {"approved": True}],
    )

    out = await run(support.build(model), support.GOAL, "invoke")

    assert agents(out)[3:] == ["policy", "replier", "reviewer", "replier", "reviewer", "reply"]
    assert choices(out, "reviewer") == ["revise", "approve"]
    second_draft = [c for c in model.calls if system(c).startswith("Write the reply")][1]
    assert "Apologise first." in prompt(second_draft)


# -- diligence -----------------------------------------------------------------------


def diligence_model() -> ScriptedModel:
    def respond(messages: Messages, tools: Tools) -> Any:
        if schema(tools) == "Finding":
            risky = "patent suit" in prompt(messages)
            return {"risk": "high" if risky else "low", "finding": "See the excerpt."}
        if schema(tools) == "Memo":
            return {
                "recommendation": "proceed_with_conditions",
                "key_risks": ["open patent suit"],
                "summary": "Growing fast. Settle the suit first.",
            }
        raise AssertionError(f"unexpected call: {system(messages)[:60]}")

    return ScriptedModel(respond=respond)


@pytest.mark.parametrize("mode", MODES)
async def test_diligence_runs_one_analyst_per_data_room_source(mode: str) -> None:
    model = diligence_model()

    out = await run(diligence.build(model), diligence.GOAL, mode)

    sources = diligence.DATA_ROOM["Acme Robotics"]
    assert choices(out, "review.split") == [str(len(sources))]
    analysed = sorted(r.item_index for r in out["results"] if r.agent == "analyst")
    assert analysed == list(range(len(sources)))
    assert agents(out)[0] == "scope"
    assert agents(out)[-2:] == ["synthesiser", "review"]
    assert out["output"]["recommendation"] == "proceed_with_conditions"


async def test_diligence_analyst_sees_only_its_own_source() -> None:
    model = diligence_model()

    await run(diligence.build(model), diligence.GOAL, "invoke")

    analyst_prompts = [prompt(c) for c in model.calls if "Rate its risk" in system(c)]
    legal = [p for p in analyst_prompts if "patent suit" in p]
    assert len(legal) == 1
    assert "Cash $22M" not in legal[0]


async def test_diligence_synthesiser_sees_every_finding() -> None:
    model = diligence_model()

    await run(diligence.build(model), diligence.GOAL, "invoke")

    memo_prompt = prompt(next(c for c in model.calls if "investment memo" in system(c)))
    for index in range(len(diligence.DATA_ROOM["Acme Robotics"])):
        assert f"analyst[{index}]" in memo_prompt
    assert '"risk": "high"' in memo_prompt


async def test_diligence_on_a_company_not_in_the_data_room_runs_no_analyst() -> None:
    out = await run(diligence.build(diligence_model()), "Due diligence on Zeta Labs.", "invoke")

    assert choices(out, "review.split") == ["0"]
    assert "analyst" not in agents(out)
    assert "synthesiser" in agents(out)


# -- finance -------------------------------------------------------------------------


def finance_model(lead_choices: list[str]) -> ScriptedModel:
    lead_choices = list(lead_choices)

    def respond(messages: Messages, tools: Tools) -> Any:
        if schema(tools) == "Delegation":
            assert options(tools, "next") == ["market_team", "fundamentals_team", "FINISH"]
            return {"next": lead_choices.pop(0), "reason": "plan"}
        if schema(tools) == "Sentiment":
            return {"tone": "positive", "reason": "Beat estimates."}
        if schema(tools) == "Valuation":
            return {"view": "fair", "reason": "P/E near 40 with 17% growth."}
        if schema(tools) == "Recommendation":
            return {"rating": "hold", "thesis": "Strong trend. Fully valued."}
        raise AssertionError(f"unexpected call: {system(messages)[:60]}")

    return ScriptedModel(respond=respond)


@pytest.mark.parametrize("mode", MODES)
async def test_finance_lead_delegates_to_both_teams_then_finishes(mode: str) -> None:
    model = finance_model(["market_team", "fundamentals_team", "FINISH"])

    out = await run(finance.build(model), finance.GOAL, mode)

    assert agents(out) == [
        "lead",
        *["market_lead", "prices", "market_lead", "news", "market_lead", "market_team"],
        "lead",
        *["fundamentals_lead", "accounts", "fundamentals_lead", "valuation"],
        *["fundamentals_lead", "fundamentals_team"],
        "lead",
        "desk",
        "report",
    ]
    assert choices(out, "lead") == ["market_team", "fundamentals_team", "FINISH"]
    assert choices(out, "market_lead") == ["prices", "news", "FINISH"]
    assert out["output"] == {"rating": "hold", "thesis": "Strong trend. Fully valued."}


async def test_finance_report_reads_every_worker_and_no_manager() -> None:
    model = finance_model(["market_team", "fundamentals_team", "FINISH"])

    await run(finance.build(model), finance.GOAL, "invoke")

    report_prompt = prompt(model.calls[-1])
    for worker in ("prices", "news", "accounts", "valuation"):
        assert f"### {worker}" in report_prompt
    assert "return_12m_pct" in report_prompt


async def test_finance_lead_is_told_which_teams_have_not_reported() -> None:
    model = finance_model(["market_team", "fundamentals_team", "FINISH"])

    await run(finance.build(model), finance.GOAL, "invoke")

    lead_prompts = [prompt(c) for c in model.calls if "equity research desk" in system(c)]
    assert [p.splitlines()[-1] for p in lead_prompts] == [
        "Teams not reported yet: market_team, fundamentals_team.",
        "Teams not reported yet: fundamentals_team.",
        "All teams reported.",
    ]


async def test_finance_lead_that_never_finishes_is_stopped_by_max_rounds() -> None:
    model = finance_model(["market_team"] * 4)

    out = await run(finance.build(model), finance.GOAL, "invoke")

    limit = next(d for d in out["decisions"] if d.at == "lead" and d.kind == "limit")
    assert limit.choice == "FINISH"
    assert agents(out).count("prices") == 1
    assert agents(out)[-1] == "report"


def test_finance_workers_compute_from_the_data_on_file() -> None:
    class Goal:
        goal = "Outlook for NOVA?"

    stats, accounts = finance.price_stats(Goal()), finance.ratios(Goal())

    assert stats["return_12m_pct"] == round((57.6 / 41.2 - 1) * 100, 1)
    assert stats["max_drawdown_pct"] < 0
    assert accounts["pe"] == round(57.6 / (88.0 / 61.0), 1)
    assert accounts["debt_to_equity"] == round(210 / 640, 2)


# -- code review ---------------------------------------------------------------------


def review_model(votes: dict[str, str], *, arbiter: str = "block") -> ScriptedModel:
    def respond(messages: Messages, tools: Tools) -> Any:
        if schema(tools) == "ReviewVerdict":
            reviewer = next(n for n in votes if system(messages).startswith(f"You are the {n} "))
            return {"verdict": votes[reviewer], "issue": f"{reviewer} issue"}
        if schema(tools) == "TieBreak":
            assert sorted(options(tools, "answer")) == sorted(set(votes.values()))
            return {"answer": arbiter, "reason": "eval on request data"}
        if "review comment" in system(messages):
            return "Please fix:\n- remove eval\n- catch specific errors\n- use logging"
        raise AssertionError(f"unexpected call: {system(messages)[:60]}")

    return ScriptedModel(respond=respond)


@pytest.mark.parametrize("mode", MODES)
async def test_code_review_majority_verdict_needs_no_arbiter(mode: str) -> None:
    model = review_model({"security": "block", "style": "block", "correctness": "approve"})

    out = await run(code_review.build(model), code_review.GOAL, mode)

    assert choices(out, "panel.tally") == ["block"]
    assert "arbiter" not in agents(out)
    assert agents(out)[0] == "lint"
    assert agents(out)[-1] == "review"
    assert out["output"]["verdict"] == "block"
    assert out["output"]["decided_by"] == "majority"


async def test_code_review_three_way_split_is_settled_by_the_arbiter() -> None:
    model = review_model(
        {"security": "block", "style": "request_changes", "correctness": "approve"},
        arbiter="request_changes",
    )

    out = await run(code_review.build(model), code_review.GOAL, "invoke")

    assert choices(out, "panel.tally") == [None]
    assert choices(out, "arbiter") == ["request_changes"]
    assert out["output"]["verdict"] == "request_changes"
    assert out["output"]["decided_by"] == "arbiter"
    comment_prompt = prompt(next(c for c in model.calls if "review comment" in system(c)))
    assert "Verdict: request_changes" in comment_prompt


async def test_code_review_keeps_the_more_actionable_comment() -> None:
    def respond(messages: Messages, tools: Tools) -> Any:
        if schema(tools) == "ReviewVerdict":
            return {"verdict": "request_changes", "issue": "eval on request data"}
        if system(messages).endswith(code_review.CONCISE):
            return "- remove eval"
        return "The change has problems. " + "word " * 200

    out = await run(code_review.build(ScriptedModel(respond=respond)), code_review.GOAL, "invoke")

    assert choices(out, "comment.judge") == ["concise"]
    assert out["output"]["comment"] == "- remove eval"


def test_code_review_lint_finds_the_known_problems_in_the_sample_diff() -> None:
    class Goal:
        goal = code_review.GOAL

    findings = code_review.lint(Goal())["findings"]

    assert findings == [
        "security: eval/exec on request data (added line 1)",
        "correctness: bare except hides errors (added line 6)",
        "style: print() left in code; use logging (added line 8)",
    ]


# -- orders --------------------------------------------------------------------------


def orders_model(risk: str) -> ScriptedModel:
    def respond(messages: Messages, tools: Tools) -> Any:
        assert schema(tools) == "FraudScreen"
        return {"risk": risk, "reason": "scripted"}

    return ScriptedModel(respond=respond)


@pytest.mark.parametrize("mode", MODES)
async def test_orders_ships_an_in_stock_low_risk_order(mode: str) -> None:
    out = await run(orders.build(orders_model("low")), orders.GOAL, mode)

    ran = agents(out)
    assert ran[0] == "intake"
    assert set(ran[1:4]) == {"inventory", "pricing", "fraud"}
    assert ran[4:] == ["checks.merge", "checks", "fulfilment"]
    # 89 + 2 x 24.50 = 138.00, -10% SPRING10, free shipping, +23% Portuguese VAT.
    assert out["output"] == {
        "action": "ship",
        "reason": "in stock, low risk",
        "warehouse": "lisbon",
        "total_usd": 152.77,
    }


async def test_orders_holds_an_order_the_fraud_screen_rates_high() -> None:
    out = await run(orders.build(orders_model("high")), orders.GOAL, "invoke")

    assert out["output"]["action"] == "hold"
    assert out["output"]["reason"] == "fraud risk high: manual review"


async def test_orders_holds_a_new_account_shipping_abroad_even_at_low_risk() -> None:
    out = await run(orders.build(orders_model("low")), "Process order SO-1043", "invoke")

    assert out["output"]["action"] == "hold"
    assert "new account" in out["output"]["reason"]


async def test_orders_backorders_what_no_warehouse_can_fill() -> None:
    out = await run(orders.build(orders_model("low")), "Process order SO-1044", "invoke")

    assert out["output"]["action"] == "backorder"
    assert out["output"]["reason"] == "out of stock: MN-27"


async def test_orders_fraud_screen_sees_the_order() -> None:
    model = orders_model("low")

    await run(orders.build(model), orders.GOAL, "invoke")

    assert '"account_age_days": 730' in prompt(model.calls[0])


# -- all workflows -------------------------------------------------------------------

MODULES: dict[str, ModuleType] = {
    "content": content,
    "support": support,
    "diligence": diligence,
    "finance": finance,
    "code_review": code_review,
    "orders": orders,
}

AGENTS: dict[str, list[str]] = {
    "content": ["researcher", "outliner", "writer", "editor"],
    "support": [
        *["triage", "billing", "technical", "account", "general"],
        *["policy", "replier", "reviewer"],
    ],
    "diligence": ["scope", "analyst", "synthesiser"],
    "finance": [
        *["lead", "market_lead", "prices", "news"],
        *["fundamentals_lead", "accounts", "valuation", "report"],
    ],
    "code_review": [
        *["lint", "security", "style", "correctness", "arbiter"],
        *["concise", "thorough", "review"],
    ],
    "orders": ["intake", "inventory", "pricing", "fraud", "fulfilment"],
}


def test_the_package_lists_every_workflow_module() -> None:
    on_disk = {p.stem for p in (ROOT / "graphs").glob("*.py") if p.stem != "__init__"}

    assert set(WORKFLOWS) == on_disk == set(MODULES)


@pytest.mark.parametrize("name", list(MODULES))
def test_drawn_graph_shows_every_agent(name: str) -> None:
    nodes = MODULES[name].build(ScriptedModel()).compile().get_graph(xray=True).nodes

    shown = {node_id.rsplit(":", 1)[-1] for node_id in nodes}
    assert set(AGENTS[name]) <= shown


@pytest.mark.parametrize("name", list(MODULES))
@pytest.mark.parametrize("mode", MODES)
async def test_workflow_runs_to_an_output_on_default_answers(name: str, mode: str) -> None:
    module = MODULES[name]

    out = await run(module.build(ScriptedModel()), module.GOAL, mode)

    assert out["output"] is not None
    assert agents(out)[-1] in {member.name for member in module.workflow.members}


def test_the_workflows_together_show_all_seven_patterns() -> None:
    shown = set()
    for module in MODULES.values():
        flow = module.workflow
        shown |= {flow.pattern, *(m.pattern for m in flow.walk() if isinstance(m, Workflow))}

    assert shown == {"pipeline", "fan_out", "supervisor", "router", "compete", "vote", "refine"}


def test_importing_the_workflows_calls_no_model_and_needs_no_configuration() -> None:
    script = textwrap.dedent(
        """
        import importlib

        import orchestra.models

        def no_model(*args, **kwargs):
            raise SystemExit("a model was resolved at import time")

        orchestra.models.default_model = no_model
        from graphs import WORKFLOWS
        for name in WORKFLOWS:
            module = importlib.import_module(f"graphs.{name}")
            assert isinstance(module.GOAL, str) and module.GOAL, name
            assert module.__doc__ and "Patterns:" in module.__doc__, name
            module.workflow.compile().get_graph(xray=True)
        print("imported", len(WORKFLOWS))
        """
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}

    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"imported {len(WORKFLOWS)}"
