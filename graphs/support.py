"""Customer-support escalation: triage a ticket, let a specialist act, check policy, reply.

A `router` sends the ticket to the billing, technical, account or general desk (general is
the default for an answer that names no desk). A deterministic policy step then checks any
refund or credit the billing desk proposes against the order on file: over the agent's
limit, outside the refund window or above the amount paid, the run escalates to a team lead
(a human, asked through an interrupt) who accepts the proposal with a note, sends the
ticket back to the desk with instructions, or stops it. Finally a reply writer and a
quality reviewer `refine` the customer's answer until the reviewer approves it, following
the policy note and the team lead's word. The three stages run as a `pipeline`.

Patterns: pipeline (with a check escalated to a human), router, refine.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from orchestra import (
    Agent,
    AgentResult,
    Check,
    Escalate,
    Limits,
    Verdict,
    Workflow,
    pipeline,
    refine,
    router,
)

__all__ = [
    "GOAL",
    "LIMITS",
    "ORDERS",
    "REFUND_LIMIT_USD",
    "REFUND_WINDOW_DAYS",
    "BillingPlan",
    "PolicyCheck",
    "build",
    "check_policy",
    "within_authority",
    "workflow",
]

GOAL = (
    "Ticket from dana.ruiz@example.com: I was charged twice for order A1042 ($149.00). "
    "Please refund the duplicate charge."
)

REFUND_LIMIT_USD = 100.0
"""The most a support agent may refund or credit without a team lead."""
REFUND_WINDOW_DAYS = 30


class Order(TypedDict):
    customer: str
    item: str
    paid_usd: float
    days_since_delivery: int


ORDERS: dict[str, Order] = {
    "A1042": Order(
        customer="dana.ruiz@example.com",
        item="Aria noise-cancelling headphones",
        paid_usd=149.00,
        days_since_delivery=12,
    ),
    "A1077": Order(
        customer="li.wei@example.com",
        item="USB-C travel charger",
        paid_usd=39.00,
        days_since_delivery=5,
    ),
    "A0931": Order(
        customer="sam.okafor@example.com",
        item="Smart thermostat",
        paid_usd=229.00,
        days_since_delivery=64,
    ),
}

_ORDER_ID = re.compile(r"\b(A\d{4})\b")


class BillingPlan(BaseModel):
    """What the billing desk proposes."""

    action: Literal["refund", "credit", "explain"] = Field(
        description="refund money, give store credit, or only explain the charge."
    )
    amount_usd: float = Field(default=0.0, description="Amount to refund or credit; 0 if none.")
    summary: str = Field(default="", description="One sentence for the reply writer.")


class PolicyCheck(BaseModel):
    """The policy step's ruling on the billing plan."""

    approved: bool
    escalate: bool
    note: str


def check_policy(state: Any) -> PolicyCheck:
    """Rule on the billing desk's plan with the order on file; no plan needs no ruling."""
    proposal = state.latest("billing")
    if proposal is None:
        return PolicyCheck(approved=True, escalate=False, note="No money movement proposed.")
    plan = BillingPlan.model_validate(proposal.output)
    if plan.action == "explain" or plan.amount_usd <= 0:
        return PolicyCheck(approved=True, escalate=False, note="Explain the charge; no refund.")
    found = _ORDER_ID.search(state.goal)
    order = ORDERS.get(found.group(1)) if found else None
    if order is None:
        return PolicyCheck(
            approved=False,
            escalate=True,
            note="No order on file for this ticket: ask for the order number, promise nothing.",
        )
    amount = f"${plan.amount_usd:.2f}"
    if plan.amount_usd > order["paid_usd"]:
        problem = f"{amount} is more than the ${order['paid_usd']:.2f} paid"
    elif order["days_since_delivery"] > REFUND_WINDOW_DAYS:
        problem = f"the order is outside the {REFUND_WINDOW_DAYS}-day refund window"
    elif plan.amount_usd > REFUND_LIMIT_USD:
        problem = f"{amount} is over the ${REFUND_LIMIT_USD:.0f} agent limit"
    else:
        return PolicyCheck(
            approved=True, escalate=False, note=f"A {plan.action} of {amount} is approved."
        )
    return PolicyCheck(
        approved=False,
        escalate=True,
        note=f"Flagged: {problem}. A team lead decides; do not promise the {plan.action} "
        "unless the team lead approved it.",
    )


def within_authority(state: Any, ruling: AgentResult) -> Verdict:
    """The policy ruling needs no team lead; a flagged one fails with the ruling's note."""
    check = PolicyCheck.model_validate(ruling.output)
    return Verdict.fail(check.note) if check.escalate else Verdict.ok(check.note)


def build(model: BaseChatModel | None = None) -> Workflow[Any]:
    """The support desk; `model` for every model step (None: the default model)."""
    triage = Agent("triage", "Pick the desk for this customer ticket.", model=model)
    billing = Agent(
        "billing",
        "You handle charges and refunds. Propose one action for the ticket.",
        model=model,
        output=BillingPlan,
        description="charges, invoices, refunds",
    )
    technical = Agent(
        "technical",
        "You fix product problems. Give at most 3 short troubleshooting steps.",
        model=model,
        description="devices not working, errors, setup",
    )
    account = Agent(
        "account",
        "You handle logins, passwords and profile changes. Give the steps in 2 sentences.",
        model=model,
        description="login, password, email or address changes",
    )
    general = Agent(
        "general",
        "Answer the customer's question in 2 sentences.",
        model=model,
        description="anything else",
    )
    desk = router(
        triage,
        routes={"billing": billing, "technical": technical, "account": account, "general": general},
        default="general",
        name="desk",
    )
    policy = Agent("policy", model=check_policy, output=PolicyCheck)
    replier = Agent(
        "replier",
        "Write the reply to the customer in under 100 words. Follow the policy note exactly; "
        "a team lead's decision, when there is one, overrides it.",
        model=model,
        reads=["billing", "technical", "account", "general", "policy", "policy.escalate"],
        max_context_chars=800,
    )
    reviewer = Agent(
        "reviewer",
        "Approve the reply if it is polite, answers the ticket and follows the policy note. "
        "Otherwise say what to fix in one sentence.",
        model=model,
        reads=["policy", "policy.escalate", "replier"],
        max_context_chars=800,
    )
    reply = refine(replier, critic=reviewer, max_rounds=2, name="reply")
    team_lead = Escalate(
        "A refund or credit is over this agent's authority. Reply 'accept: <your decision "
        "for the customer>', 'retry: <instructions for the desk>' or 'stop' (you take over).",
        to="desk",
    )
    return pipeline(
        desk,
        policy,
        reply,
        gate={"policy": Check(within_authority, on_fail=team_lead)},
        name="support",
    )


# A ticket is answered in minutes and a handful of calls; anything more needs a person.
LIMITS = Limits(max_steps=20, max_tokens=60_000, deadline=timedelta(minutes=10))
workflow = build().with_limits(LIMITS)
