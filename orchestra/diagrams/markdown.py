"""Keeping Mermaid diagrams in Markdown current: each marked block is redrawn from its graph.

A block is written as

    <!-- orchestra draw GRAPH -->
    ```mermaid
    ...
    ```
    <!-- /orchestra draw -->

and `python -m orchestra.diagrams.markdown README.md` redraws every such block from the
workflow GRAPH names (a file, a module or a name in `graphs/`), so documentation never
shows a diagram of a workflow that no longer exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from orchestra.diagrams.draw import draw
from orchestra.loading import load_workflow

__all__ = ["refresh_markdown"]

_BLOCK = re.compile(
    r"(<!-- orchestra draw (?P<graph>\S+) -->\n)```mermaid\n.*?```\n(<!-- /orchestra draw -->)",
    re.S,
)


def refresh_markdown(text: str, root: Path | None = None) -> str:
    """`text` with every marked Mermaid block redrawn from its graph (found from `root`)."""

    def redraw(match: re.Match[str]) -> str:
        workflow, _ = load_workflow(match["graph"], root=root)
        mermaid = str(draw(workflow, "mermaid"))
        return f"{match[1]}```mermaid\n{mermaid}```\n{match[3]}"

    return _BLOCK.sub(redraw, text)


def main(paths: list[str]) -> int:
    """Redraw the blocks of each Markdown file in `paths`, in place; print what changed."""
    for name in paths:
        path = Path(name)
        old = path.read_text(encoding="utf-8")
        new = refresh_markdown(old, root=path.resolve().parent)
        if new != old:
            path.write_text(new, encoding="utf-8")
            print(f"redrew the diagrams of {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
