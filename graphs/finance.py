"""Financial analysis: a research lead delegates to two teams, then an analyst writes the call.

Hierarchical delegation: the lead `supervisor` (a model) chooses between the market team and
the fundamentals team, each itself a `supervisor` whose team lead works through a fixed
checklist of workers. Deterministic workers compute price statistics and financial ratios
from the data on file; model workers read the headlines and judge the valuation. A report
writer then turns the teams' work into a rating. The whole is a `pipeline`.

Patterns: supervisor (nested: lead -> team leads -> workers), pipeline.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from orchestra import Agent, Limits, Workflow, pipeline, supervisor

__all__ = [
    "COMPANIES",
    "GOAL",
    "LIMITS",
    "TEAMS",
    "Company",
    "Recommendation",
    "Sentiment",
    "Valuation",
    "build",
    "lead_prompt",
    "price_stats",
    "ratios",
    "workflow",
]

GOAL = "Should we buy, hold or sell NOVA (Nova Devices) over the next 12 months?"


class Company(TypedDict):
    name: str
    closes: list[float]
    """Month-end closing prices, oldest first, 13 months."""
    revenue_musd: list[float]
    """Revenue for the last two fiscal years, in $M."""
    net_income_musd: float
    shares_m: float
    debt_musd: float
    equity_musd: float
    headlines: list[str]


COMPANIES: dict[str, Company] = {
    "NOVA": Company(
        name="Nova Devices",
        closes=[41.2, 43.0, 42.1, 44.8, 47.5, 46.9, 49.3, 52.0, 50.4, 53.8, 55.1, 54.2, 57.6],
        revenue_musd=[812.0, 951.0],
        net_income_musd=88.0,
        shares_m=61.0,
        debt_musd=210.0,
        equity_musd=640.0,
        headlines=[
            "Nova Devices beats Q3 estimates on strong wearables demand",
            "Nova opens second factory in Vietnam",
            "Analyst flags rising memory-chip costs for device makers",
        ],
    ),
    "KELP": Company(
        name="Kelp Energy",
        closes=[18.4, 17.9, 17.1, 16.2, 16.8, 15.5, 14.9, 15.2, 13.8, 13.1, 12.7, 13.4, 12.2],
        revenue_musd=[402.0, 371.0],
        net_income_musd=-23.0,
        shares_m=140.0,
        debt_musd=520.0,
        equity_musd=300.0,
        headlines=[
            "Kelp Energy delays offshore project by a year",
            "Kelp cuts guidance as output falls",
        ],
    ),
}

_TICKER = re.compile(r"\b[A-Z]{2,5}\b")


class Sentiment(BaseModel):
    """The news analyst's reading of the headlines."""

    tone: Literal["positive", "neutral", "negative"]
    reason: str = Field(default="", description="One sentence.")


class Valuation(BaseModel):
    """The valuation analyst's view of the ratios."""

    view: Literal["undervalued", "fair", "overvalued"]
    reason: str = Field(default="", description="One sentence.")


class Recommendation(BaseModel):
    """The desk's call."""

    rating: Literal["buy", "hold", "sell"]
    thesis: str = Field(description="Two sentences: why.")


def company(state: Any) -> tuple[str, Company]:
    """The company the goal names by ticker (or by name), else the first on file."""
    for ticker in _TICKER.findall(state.goal):
        if ticker in COMPANIES:
            return ticker, COMPANIES[ticker]
    for ticker, data in COMPANIES.items():
        if data["name"].lower() in state.goal.lower():
            return ticker, data
    ticker = next(iter(COMPANIES))
    return ticker, COMPANIES[ticker]


def price_stats(state: Any) -> dict[str, Any]:
    """12-month return, annualised volatility of monthly returns, and max drawdown."""
    ticker, data = company(state)
    closes = data["closes"]
    monthly = [b / a - 1 for a, b in itertools.pairwise(closes)]
    peak, drawdown = closes[0], 0.0
    for close in closes:
        peak = max(peak, close)
        drawdown = min(drawdown, close / peak - 1)
    return {
        "ticker": ticker,
        "price": closes[-1],
        "return_12m_pct": round((closes[-1] / closes[0] - 1) * 100, 1),
        "volatility_pct": round(statistics.stdev(monthly) * 12**0.5 * 100, 1),
        "max_drawdown_pct": round(drawdown * 100, 1),
    }


def ratios(state: Any) -> dict[str, Any]:
    """Valuation and balance-sheet ratios from the latest accounts."""
    ticker, data = company(state)
    price = data["closes"][-1]
    eps = data["net_income_musd"] / data["shares_m"]
    previous, latest = data["revenue_musd"]
    return {
        "ticker": ticker,
        "pe": round(price / eps, 1) if eps > 0 else None,
        "revenue_growth_pct": round((latest / previous - 1) * 100, 1),
        "net_margin_pct": round(data["net_income_musd"] / latest * 100, 1),
        "debt_to_equity": round(data["debt_musd"] / data["equity_musd"], 2),
    }


def headlines_prompt(state: Any) -> Sequence[BaseMessage]:
    """The headlines on file, not the whole state: a small model's context is short."""
    _, data = company(state)
    lines = "\n".join(f"- {h}" for h in data["headlines"])
    return [
        SystemMessage("Rate the tone of these headlines for the company's shareholders."),
        HumanMessage(f"{data['name']} headlines:\n{lines}"),
    ]


TEAMS = ("market_team", "fundamentals_team")


def lead_prompt(state: Any) -> Sequence[BaseMessage]:
    """Which teams have reported: the default prompt shows workers' outputs, not teams'."""
    waiting = [team for team in TEAMS if state.visits.get(team, 0) == 0]
    status = f"Teams not reported yet: {', '.join(waiting)}." if waiting else "All teams reported."
    return [
        SystemMessage(
            "You run an equity research desk. Choose the next team that has not reported. "
            "Choose FINISH only when all teams have reported."
        ),
        HumanMessage(f"Goal: {state.goal}\n{status}"),
    ]


def checklist(*workers: str) -> Callable[[Any], dict[str, str]]:
    """A team lead's rule: each worker once, in order, then FINISH."""

    def next_worker(state: Any) -> dict[str, str]:
        for worker in workers:
            if state.visits.get(worker, 0) == 0:
                return {"next": worker, "reason": "next on the checklist"}
        return {"next": "FINISH", "reason": "checklist done"}

    return next_worker


def build(model: BaseChatModel | None = None) -> Workflow[Any]:
    """The analysis desk; `model` for every model step (None: the default model)."""
    prices = Agent("prices", model=price_stats, description="price return, volatility, drawdown")
    news = Agent(
        "news",
        model=model,
        output=Sentiment,
        prompt=headlines_prompt,
        description="tone of the latest headlines",
        retry=3,
    )
    # Team leads are named rule agents (a function model answering the delegation schema),
    # so each team's decisions are recorded under its own lead's name.
    market = supervisor(
        [prices, news],
        manager=Agent("market_lead", model=checklist("prices", "news")),
        max_rounds=3,
        name="market_team",
    )
    market.description = "share price trend and news sentiment"
    accounts = Agent("accounts", model=ratios, description="P/E, growth, margin, leverage")
    valuation = Agent(
        "valuation",
        "Judge the valuation from the ratios: P/E, growth, margin, debt.",
        model=model,
        output=Valuation,
        reads=["accounts"],
        description="is the stock cheap or dear",
    )
    fundamentals = supervisor(
        [accounts, valuation],
        manager=Agent("fundamentals_lead", model=checklist("accounts", "valuation")),
        max_rounds=3,
        name="fundamentals_team",
    )
    fundamentals.description = "financial ratios and valuation"
    lead = Agent("lead", model=model, prompt=lead_prompt)
    desk = supervisor([market, fundamentals], manager=lead, max_rounds=4, name="desk")
    report = Agent(
        "report",
        "Rate the stock buy, hold or sell for the goal, from the teams' work.",
        model=model,
        output=Recommendation,
        reads=["prices", "news", "accounts", "valuation"],
        max_context_chars=400,
        retry=3,
    )
    return pipeline(desk, report, name="finance")


# Nested managers can keep delegating: no agent runs more than 10 times per goal.
LIMITS = Limits(max_visits=10, max_steps=60, max_tokens=200_000, deadline=timedelta(minutes=20))
workflow = build().with_limits(LIMITS)
