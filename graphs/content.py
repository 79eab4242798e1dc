"""Content production: research, outline, write and edit an article, checked twice on the way.

A `pipeline` of four specialists with two checks that send work back with a reason: a
deterministic format check on the writer's draft (a title line and a length in range)
retries the writer once, and a fact-checker agent that compares the edited article with the
research notes sends the draft back to the writer (then the editor runs again). Failing a
check a second time stops the run there.

Patterns: pipeline (with a function check and an agent check that sends work back).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from orchestra import Agent, AgentResult, Check, Limits, Retry, Verdict, Workflow, pipeline

__all__ = ["GOAL", "MAX_WORDS", "MIN_WORDS", "Notes", "Outline", "build", "workflow"]

GOAL = "A 200-word explainer on heat pumps for homeowners: how they work and what they cost."

MIN_WORDS = 80
MAX_WORDS = 350
MAX_TITLE_CHARS = 80


class Notes(BaseModel):
    """The researcher's findings."""

    facts: list[str] = Field(description="3 to 5 facts, one short sentence each.")


class Outline(BaseModel):
    """The article's plan."""

    title: str = Field(description="A headline under 10 words.")
    sections: list[str] = Field(description="3 section headings.")


def check_format(state: Any, draft: AgentResult) -> Verdict:
    """The draft starts with a short title line and has MIN_WORDS..MAX_WORDS words."""
    text = str(draft.output or "").strip()
    title = text.splitlines()[0].strip() if text else ""
    words = len(text.split())
    if not title or len(title) > MAX_TITLE_CHARS:
        return Verdict.fail(f"Start with a title line under {MAX_TITLE_CHARS} characters.")
    if words < MIN_WORDS:
        return Verdict.fail(f"Too short: {words} words. Write {MIN_WORDS} to {MAX_WORDS}.")
    if words > MAX_WORDS:
        return Verdict.fail(f"Too long: {words} words. Cut to at most {MAX_WORDS}.")
    return Verdict.ok(f"{words} words")


def fact_check_prompt(state: Any) -> Sequence[BaseMessage]:
    """Only the notes and the edited article: a small model's context is short."""
    notes = state.latest("researcher")
    article = state.latest("editor")
    facts = "\n".join(f"- {f}" for f in (notes.output or {}).get("facts", [])) if notes else ""
    return [
        SystemMessage(
            "You check facts. passed=true if every claim in the article is supported by the "
            "notes; else passed=false and reason names the unsupported claim."
        ),
        HumanMessage(f"Notes:\n{facts}\n\nArticle:\n{article.output if article else ''}"),
    ]


def build(model: BaseChatModel | None = None) -> Workflow[Any]:
    """The content pipeline; `model` for every model step (None: the default model)."""
    researcher = Agent(
        "researcher",
        "List 3 to 5 key facts a reader needs about the topic.",
        model=model,
        output=Notes,
    )
    outliner = Agent(
        "outliner",
        "Plan the article: a title and 3 section headings.",
        model=model,
        output=Outline,
        reads=["researcher"],
    )
    writer = Agent(
        "writer",
        f"Write the article from the outline and facts. First line: the title. "
        f"Then {MIN_WORDS} to {MAX_WORDS} words of plain prose.",
        model=model,
        reads=["researcher", "outliner"],
        max_context_chars=1200,
    )
    editor = Agent(
        "editor",
        "Edit the article for clarity and grammar. Keep the title line and every fact. "
        "Return the whole article.",
        model=model,
        reads=["writer"],
        max_context_chars=2400,
    )
    fact_checker = Agent("fact_checker", model=model, prompt=fact_check_prompt)
    return pipeline(
        researcher,
        outliner,
        writer,
        editor,
        gate={
            "writer": Check(check_format, on_fail=Retry(1)),
            "editor": Check(fact_checker, on_fail=Retry(1, to="writer")),
        },
        name="content",
    )


# A draft sent back by its gates may be rewritten, but not without end.
LIMITS = Limits(max_visits=5, max_tokens=100_000, deadline=timedelta(minutes=15))
workflow = build().with_limits(LIMITS)
