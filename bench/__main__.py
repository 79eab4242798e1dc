"""Run every benchmark and print ratios against plain LangGraph."""

from __future__ import annotations

from bench import checkpointer

if __name__ == "__main__":
    checkpointer.main()
