"""The README's example runs as written (with an in-process model standing in)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from orchestra.models import ScriptedModel

README = Path(__file__).resolve().parents[1] / "README.md"


def answer(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Any:
    if tools and tools[0]["function"]["name"] == "Draft":
        return {"title": "Tides", "body": "Tidal power is steady."}
    if tools and tools[0]["function"]["name"] == "Critique":
        return {"approved": True, "feedback": ""}
    return "1. tides are predictable 2. ... 3. ..."


def test_the_readme_example_runs_and_prints_the_title(capsys: Any) -> None:
    (example,) = re.findall(r"## Example\n\n```python\n(.*?)```", README.read_text(), re.S)

    exec(compile(example, "README.md", "exec"), {"model": ScriptedModel(respond=answer)})

    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Tides"
    assert [line.split()[0] for line in printed[1:]] == ["researcher", "writer", "editor", "refine"]
