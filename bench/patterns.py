"""Pattern overhead: a 20-agent `pipeline` against the same graph written in plain LangGraph.

Both call the same in-process chat model with the same messages, so the difference is what
Orchestra adds per step: building the prompt, recording the call (input, output, usage,
latency) and the typed state. With `--latency`, the model takes that long per call, which
shows the overhead against model time.
"""

from __future__ import annotations

import argparse
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from bench._timing import interleaved
from orchestra import Agent, pipeline
from orchestra.models import ScriptedModel

STEPS = 20


class PlainState(TypedDict):
    goal: str
    messages: Annotated[list[AnyMessage], add_messages]
    outputs: dict[str, str]


def plain_graph(model: ScriptedModel) -> Any:
    """The hand-written equivalent: each node prompts with the goal and earlier outputs."""
    graph = StateGraph(PlainState)

    def step(name: str) -> Any:
        def node(state: PlainState, config: RunnableConfig) -> dict[str, Any]:
            earlier = "\n\n".join(f"### {k}\n{v}" for k, v in state["outputs"].items())
            prompt = f"Goal: {state['goal']}"
            if earlier:
                prompt += f"\n\nWork so far:\n\n{earlier}"
            messages = [SystemMessage(content=f"You are {name}."), HumanMessage(content=prompt)]
            reply = model.invoke(messages, config)
            return {"messages": [reply], "outputs": {**state["outputs"], name: reply.text}}

        return node

    previous = START
    for index in range(STEPS):
        name = f"agent{index}"
        graph.add_node(name, step(name))
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph.compile()


def orchestra_graph(model: ScriptedModel) -> Any:
    agents = [Agent(f"agent{i}", f"You are agent{i}.", model=model) for i in range(STEPS)]
    return pipeline(*agents).compile()


def main(rounds: int = 15, latency: float = 0.0) -> list[tuple[str, float, float]]:
    model = ScriptedModel(latency=latency, keep_calls=False)
    plain, ours = plain_graph(model), orchestra_graph(model)
    goal = {"goal": "Write a short brief on tidal power."}
    times = interleaved(
        {
            "langgraph": lambda: plain.invoke({**goal, "outputs": {}}),
            "orchestra": lambda: ours.invoke(goal),
        },
        rounds=rounds,
    )
    ratio = times["orchestra"] / times["langgraph"]
    label = f"pipeline of {STEPS} agents, model latency {latency * 1000:g} ms"
    print(
        f"{label:<52} langgraph {times['langgraph'] * 1000:8.2f} ms   "
        f"orchestra {times['orchestra'] * 1000:8.2f} ms   ratio {ratio:5.2f}  (target <= 1.10)"
    )
    return [(label, times["langgraph"], times["orchestra"])]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    main(args.rounds, args.latency)
