"""Ready-made workflows for the seed use cases, one module each.

Every module exposes `workflow` (built for the default model, which is resolved only when
an agent first runs), `build(model=None)` to build it for a given chat model, and `GOAL`,
a realistic sample goal. Together they show all seven patterns:

| module        | use case                     | patterns                        |
| ------------- | ---------------------------- | ------------------------------- |
| `content`     | content production           | pipeline with checks            |
| `support`     | customer-support escalation  | pipeline, router, refine, human |
| `diligence`   | due-diligence research       | pipeline, fan_out over sources  |
| `finance`     | financial analysis           | supervisor of supervisors       |
| `code_review` | code review                  | pipeline, vote, compete         |
| `orders`      | order processing             | pipeline, fan_out               |
"""

from __future__ import annotations

WORKFLOWS: tuple[str, ...] = (
    "content",
    "support",
    "diligence",
    "finance",
    "code_review",
    "orders",
)
"""The module names, importable as `graphs.<name>`; each holds a `workflow`."""

__all__ = ["WORKFLOWS"]
