"""Order processing: look the order up, check stock, price and fraud at once, then decide.

After a deterministic intake step finds the order, a static `fan_out` runs three checks in
parallel: an inventory lookup and a price calculation (deterministic, over the warehouse
stock and price list below) and a fraud screen by a model. A deterministic fulfilment
rule then ships, backorders or holds the order. The stages run as a `pipeline`.

Patterns: pipeline, fan_out (static branches, functions and a model side by side).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from orchestra import Agent, OrchestraState, Workflow, fan_out, pipeline

__all__ = [
    "GOAL",
    "ORDERS",
    "PRICES_USD",
    "STOCK",
    "FraudScreen",
    "Fulfilment",
    "OrderState",
    "build",
    "decide",
    "find_order",
    "price",
    "reserve",
    "workflow",
]

GOAL = "Process order SO-1042 from Ana Costa."


class Line(TypedDict):
    sku: str
    qty: int


class Order(TypedDict):
    id: str
    customer: str
    account_age_days: int
    ship_to: str
    bill_to: str
    promo: str | None
    lines: list[Line]


ORDERS: dict[str, Order] = {
    "SO-1042": Order(
        id="SO-1042",
        customer="Ana Costa",
        account_age_days=730,
        ship_to="PT",
        bill_to="PT",
        promo="SPRING10",
        lines=[Line(sku="KB-200", qty=1), Line(sku="MS-15", qty=2)],
    ),
    "SO-1043": Order(
        id="SO-1043",
        customer="J. Smith",
        account_age_days=1,
        ship_to="NG",
        bill_to="US",
        promo=None,
        lines=[Line(sku="LP-900", qty=3)],
    ),
    "SO-1044": Order(
        id="SO-1044",
        customer="Mia Berg",
        account_age_days=210,
        ship_to="DE",
        bill_to="DE",
        promo=None,
        lines=[Line(sku="MN-27", qty=2)],
    ),
}

PRICES_USD: dict[str, float] = {"KB-200": 89.0, "MS-15": 24.5, "LP-900": 1299.0, "MN-27": 319.0}
STOCK: dict[str, dict[str, int]] = {
    "lisbon": {"KB-200": 14, "MS-15": 40, "LP-900": 0, "MN-27": 1},
    "rotterdam": {"KB-200": 3, "MS-15": 0, "LP-900": 6, "MN-27": 1},
}
PROMOS: dict[str, float] = {"SPRING10": 0.10}
VAT: dict[str, float] = {"PT": 0.23, "DE": 0.19, "NG": 0.075}
FREE_SHIPPING_FROM_USD = 100.0
SHIPPING_USD = 7.5
NEW_ACCOUNT_DAYS = 7

_ORDER_ID = re.compile(r"\bSO-\d{4}\b")


class OrderState(OrchestraState):
    """The base state plus the order under way."""

    order: Order | None = None


class FraudScreen(BaseModel):
    """The fraud analyst's assessment."""

    risk: Literal["low", "medium", "high"]
    reason: str = Field(default="", description="One sentence.")


class Fulfilment(BaseModel):
    """What happens to the order."""

    action: Literal["ship", "backorder", "hold"]
    reason: str
    warehouse: str | None = None
    total_usd: float


def find_order(state: Any) -> Order:
    """The order the goal names by id."""
    found = _ORDER_ID.search(state.goal)
    if found is None or found.group(0) not in ORDERS:
        raise LookupError(f"no order on file for goal {state.goal!r}; name one of {list(ORDERS)}")
    return ORDERS[found.group(0)]


def reserve(state: Any) -> dict[str, Any]:
    """One warehouse that holds every line, or the lines no warehouse can fill."""
    lines = state.order["lines"]
    for warehouse, shelf in STOCK.items():
        if all(shelf.get(line["sku"], 0) >= line["qty"] for line in lines):
            return {"in_stock": True, "warehouse": warehouse, "short": []}
    short = [
        line["sku"]
        for line in lines
        if not any(shelf.get(line["sku"], 0) >= line["qty"] for shelf in STOCK.values())
    ]
    return {"in_stock": False, "warehouse": None, "short": short or [line["sku"] for line in lines]}


def price(state: Any) -> dict[str, float]:
    """Subtotal, promotion, shipping and VAT of the destination country, in USD."""
    order = state.order
    subtotal = sum(PRICES_USD[line["sku"]] * line["qty"] for line in order["lines"])
    discount = round(subtotal * PROMOS.get(order["promo"] or "", 0.0), 2)
    shipping = 0.0 if subtotal - discount >= FREE_SHIPPING_FROM_USD else SHIPPING_USD
    tax = round((subtotal - discount + shipping) * VAT.get(order["ship_to"], 0.0), 2)
    total = round(subtotal - discount + shipping + tax, 2)
    return {
        "subtotal": subtotal,
        "discount": discount,
        "shipping": shipping,
        "tax": tax,
        "total": total,
    }


def decide(state: Any) -> Fulfilment:
    """Hold a risky order for review, backorder what cannot ship, ship the rest.

    A brand-new account billed in one country and shipping to another is held whatever the
    fraud screen says: the model advises, the rule has the last word on the hard cases.
    """
    order = state.order
    stock = state.latest("inventory").output
    total = state.latest("pricing").output["total"]
    risk = state.latest("fraud").output["risk"]
    if risk == "high" or (risk == "medium" and total > 1000):
        return Fulfilment(
            action="hold", reason=f"fraud risk {risk}: manual review", total_usd=total
        )
    if order["account_age_days"] < NEW_ACCOUNT_DAYS and order["bill_to"] != order["ship_to"]:
        return Fulfilment(
            action="hold", reason="new account shipping abroad: manual review", total_usd=total
        )
    if not stock["in_stock"]:
        short = ", ".join(stock["short"])
        return Fulfilment(action="backorder", reason=f"out of stock: {short}", total_usd=total)
    return Fulfilment(
        action="ship",
        reason="in stock, low risk",
        warehouse=stock["warehouse"],
        total_usd=total,
    )


def build(model: BaseChatModel | None = None) -> Workflow[Any]:
    """The order desk; `model` for the fraud screen (None: the default model)."""
    fraud = Agent(
        "fraud",
        "Screen the order for fraud. New accounts, expensive goods and a billing country "
        "that differs from the shipping country raise the risk.",
        model=model,
        output=FraudScreen,
        reads=["intake"],
    )
    checks = fan_out(
        Agent("inventory", model=reserve),
        Agent("pricing", model=price),
        fraud,
        name="checks",
        state=OrderState,
    )
    return pipeline(
        Agent("intake", model=find_order, writes="order"),
        checks,
        Agent("fulfilment", model=decide, output=Fulfilment),
        name="orders",
        state=OrderState,
    )


workflow = build()
