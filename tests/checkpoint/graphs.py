"""Small real LangGraph graphs the checkpointer tests run."""

from __future__ import annotations

import itertools
import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel


class DocState(TypedDict):
    counter: int
    doc: str


def pipeline(steps: int, checkpointer: Any) -> Any:
    """`steps` nodes in a row, each adding one to `counter`; `doc` is never written."""
    graph = StateGraph(DocState)

    def bump(state: DocState) -> dict[str, int]:
        return {"counter": state["counter"] + 1}

    names = [f"step{i}" for i in range(steps)]
    for name in names:
        graph.add_node(name, bump)
    graph.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)
    return graph.compile(checkpointer=checkpointer)


class ReviewState(TypedDict):
    draft: str
    log: Annotated[list[str], operator.add]


def review(checkpointer: Any) -> Any:
    """write -> ask a human (interrupt) -> publish."""
    graph = StateGraph(ReviewState)

    def write(state: ReviewState) -> dict[str, Any]:
        return {"draft": state["draft"] + " drafted", "log": ["write"]}

    def ask(state: ReviewState) -> dict[str, Any]:
        answer = interrupt({"question": "approve?", "draft": state["draft"]})
        return {"draft": f"{state['draft']} ({answer})", "log": ["ask"]}

    def publish(state: ReviewState) -> dict[str, Any]:
        return {"log": ["publish"]}

    graph.add_node("write", write)
    graph.add_node("ask", ask)
    graph.add_node("publish", publish)
    graph.add_edge(START, "write")
    graph.add_edge("write", "ask")
    graph.add_edge("ask", "publish")
    graph.add_edge("publish", END)
    return graph.compile(checkpointer=checkpointer)


class Draft(BaseModel):
    title: str
    words: int


class DraftState(TypedDict):
    draft: Draft


def editor(checkpointer: Any) -> Any:
    """One node that edits a pydantic `Draft` kept in the state."""
    graph = StateGraph(DraftState)

    def edit(state: DraftState) -> dict[str, Draft]:
        draft = state["draft"]
        return {"draft": Draft(title=draft.title + "!", words=draft.words + 1)}

    graph.add_node("edit", edit)
    graph.add_edge(START, "edit")
    graph.add_edge("edit", END)
    return graph.compile(checkpointer=checkpointer)
