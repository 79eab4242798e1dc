"""A strict check of the Mermaid subset Orchestra writes: every line must be one it knows.

Mermaid itself is a JavaScript library; this checks what breaks it in practice: an
unknown line, an unquoted or badly escaped label, unbalanced subgraphs, an edge or class
naming an undeclared node, a link style past the last edge.
"""

from __future__ import annotations

import re

SHAPES = [("((", "))"), ("{{", "}}"), ("[[", "]]"), ("[/", "\\]"), ("[/", "/]"), ("[\\", "/]")]
SHAPES += [("(", ")"), ("[", "]"), ("{", "}"), (">", "]")]
LABEL = r'"[^"]*"'
ID = r"n_[A-Za-z0-9_]+"
EDGE = re.compile(rf"^({ID}) (-->|-\.->)(\|{LABEL}\|)? ({ID})$")
SUBGRAPH = re.compile(rf"^subgraph c_[A-Za-z0-9_]+\[{LABEL}\]$")
CLASSDEF = re.compile(r"^classDef [A-Za-z_]+ [a-z-]+:[#\w]+(,[a-z-]+:[#\w]+)*$")
CLASS = re.compile(rf"^class ({ID}(,{ID})*) [A-Za-z_]+$")
LINKSTYLE = re.compile(r"^linkStyle (\d+) stroke:#[0-9a-f]{6}$")


def check_mermaid(text: str) -> None:
    """Raise AssertionError naming the first line that is not valid Orchestra Mermaid."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD", lines[0]
    declared: set[str] = set()
    depth = 0
    edges = 0
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        where = f"line {number}: {raw!r}"
        if SUBGRAPH.match(line):
            depth += 1
        elif line == "end":
            depth -= 1
            assert depth >= 0, where
        elif match := EDGE.match(line):
            assert {match[1], match[4]} <= declared, where
            edges += 1
        elif match := CLASS.match(line):
            assert set(match[1].split(",")) <= declared, where
        elif match := LINKSTYLE.match(line):
            assert int(match[1]) < edges, where
        elif not CLASSDEF.match(line):
            declared.add(_node(line, where))
    assert depth == 0, "a subgraph is not closed"


def _node(line: str, where: str) -> str:
    match = re.match(rf"^({ID})(.*)$", line)
    assert match, where
    shape = match[2]
    for left, right in SHAPES:
        if shape.startswith(left + '"') and shape.endswith('"' + right):
            label = shape[len(left) + 1 : -len(right) - 1]
            assert '"' not in label, where
            assert re.sub(r"</?b>|<br/>", "", label).count("<") == 0, where
            return match[1]
    raise AssertionError(f"unknown node shape, {where}")
