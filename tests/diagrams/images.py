"""Reading rendered diagrams back: SVG as XML, PNG by its signature and header."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def svg_text(svg: str) -> str:
    """All the text drawn in `svg` (it must parse as SVG), one string per line."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return "\n".join(t.text or "" for t in root.iter(f"{SVG}text"))


def svg_nodes(svg: str) -> dict[str, ET.Element]:
    """The node groups of a Graphviz SVG, by their title (the node's id)."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        if "node" in (group.get("class") or "").split():
            title = group.find(f"{SVG}title")
            assert title is not None
            assert title.text is not None
            found[title.text] = group
    return found


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (asserting the file is a PNG)."""
    assert data[:8] == PNG_SIGNATURE
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert (length, chunk) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height
