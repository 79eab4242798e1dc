"""SVG and PNG through Graphviz's `dot` program, offline; a clear error when it is missing."""

from __future__ import annotations

import shutil

import graphviz

from orchestra.errors import OrchestraError

__all__ = ["GraphvizMissing", "graphviz_available", "render"]

INSTALL_HINT = (
    "SVG and PNG need Graphviz's `dot` program: install it (Debian/Ubuntu: "
    "`sudo apt-get install graphviz`; macOS: `brew install graphviz`), or draw with "
    "--format mermaid, dot or ascii, which need nothing else."
)


class GraphvizMissing(OrchestraError):
    """Rendering SVG or PNG needs Graphviz's `dot` program, which is not installed."""


def graphviz_available() -> bool:
    """True when Graphviz's `dot` program is on the PATH."""
    return shutil.which("dot") is not None


def render(graph: graphviz.Digraph, image: str) -> bytes:
    """`graph` rendered by `dot` as `image` (`svg` or `png`).

    Raises:
        GraphvizMissing: the `dot` program is not installed.
    """
    if image not in ("svg", "png"):
        raise ValueError(f"render: {image!r} is not an image format (svg or png).")
    if not graphviz_available():
        raise GraphvizMissing(INSTALL_HINT)
    try:
        return bytes(graph.pipe(format=image))
    except graphviz.ExecutableNotFound as error:
        raise GraphvizMissing(INSTALL_HINT) from error
