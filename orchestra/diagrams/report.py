"""A run's report: one self-contained HTML file with its diagram, timeline and every call.

Nothing in it is fetched: the diagram is inline SVG (or Mermaid text, without Graphviz),
the style is inline, and there is no script. Model outputs are untrusted text, so every
value is escaped.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from orchestra.agents import render as render_output
from orchestra.diagrams.dot import to_digraph
from orchestra.diagrams.mermaid import to_mermaid
from orchestra.diagrams.model import build_diagram
from orchestra.diagrams.overlay import read_overlay
from orchestra.diagrams.render import graphviz_available, render
from orchestra.state import AgentResult, Decision
from orchestra.workflow import Workflow

__all__ = ["html_report"]

# The page may load nothing: no script, no fetch; only its own inline style.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #212121; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.meta { color: #616161; } .status { font-weight: 600; }
#diagram svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem;
  border-bottom: 1px solid #e0e0e0; }
tr.decision td { color: #00838f; }
pre { white-space: pre-wrap; margin: .2rem 0; max-height: 20rem; overflow: auto;
  background: #fafafa; padding: .4rem; }
details summary { cursor: pointer; color: #424242; }
"""


def html_report(
    workflow: Workflow[Any],
    thread: str,
    checkpointer: BaseCheckpointSaver[Any],
    *,
    depth: int | None = None,
) -> str:
    """The HTML report of run `thread` of `workflow`: diagram, timeline, inputs and outputs.

    Raises:
        ThreadNotFound: the checkpointer has no such thread.
    """
    diagram = build_diagram(workflow, depth)
    overlay = read_overlay(workflow, checkpointer, thread)
    timeline = overlay.timeline
    if graphviz_available():
        figure = _inline_svg(render(to_digraph(diagram, overlay), "svg").decode())
    else:
        figure = f'<pre class="mermaid">{escape(to_mermaid(diagram, overlay))}</pre>'
    usage = timeline.usage
    start = min((_start(e) for e in timeline.entries), default=0.0)
    rows = "\n".join(_row(entry, start) for entry in timeline.entries)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<title>{escape(workflow.name)} · {escape(thread)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{escape(workflow.name)} <span class="meta">thread {escape(thread)}</span></h1>
<p class="meta">status: <span class="status" id="status">{escape(overlay.status)}</span>
 · {usage.total_tokens} tokens ({usage.input_tokens} in, {usage.output_tokens} out)
 · {len(timeline.entries)} entries</p>
<p><b>goal:</b> {escape(timeline.goal)}</p>
<section id="diagram"><h2>Diagram</h2>
{figure}
</section>
<section id="timeline"><h2>Timeline</h2>
<table><thead><tr><th>at</th><th>who</th><th>what</th><th>tokens</th><th>time</th></tr></thead>
<tbody>
{rows}
</tbody></table></section>
<section id="answer"><h2>Answer</h2><pre>{escape(render_output(timeline.output))}</pre></section>
</body></html>
"""


def _inline_svg(svg: str) -> str:
    # Graphviz writes an XML prolog, a DOCTYPE and comments before <svg>: HTML needs none.
    return svg[svg.index("<svg") :] if "<svg" in svg else re.sub(r"<!.*?>", "", svg)


def _start(entry: AgentResult | Decision) -> float:
    return entry.made_at if isinstance(entry, Decision) else entry.started_at


def _row(entry: AgentResult | Decision, start: float) -> str:
    at = f"+{_start(entry) - start:.1f}s"
    if isinstance(entry, Decision):
        reason = f": {entry.reason}" if entry.reason else ""
        what = f"{entry.kind} → {entry.choice}{reason}"
        return (
            f'<tr class="decision" data-node="{escape(entry.at)}"><td>{at}</td>'
            f"<td>{escape(entry.at)}</td><td>{escape(what)}</td><td></td><td></td></tr>"
        )
    asked = "\n\n".join(f"[{m.get('role', '')}] {m.get('content', '')}" for m in entry.input)
    output = entry.output if isinstance(entry.output, str) else json.dumps(entry.output, indent=2)
    who = entry.agent + ("" if entry.kind in ("model", "function") else f" ({entry.kind})")
    model = f" · {entry.model}" if entry.model else ""
    return (
        f'<tr class="call" data-node="{escape(entry.agent)}"><td>{at}</td>'
        f'<td>{escape(who)}<div class="meta">{escape(model.strip(" ·"))}</div></td><td>'
        f'<details><summary>input</summary><pre class="input">{escape(asked)}</pre></details>'
        f'<pre class="output">{escape(output)}</pre></td>'
        f"<td>{entry.usage.total_tokens or ''}</td><td>{entry.latency_ms / 1000:.1f}s</td></tr>"
    )
