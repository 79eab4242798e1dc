"""Code review: static checks, a vote of three reviewers, and the best of two review comments.

A deterministic lint step scans the diff's added lines for known problems. Three reviewers
(security, style, correctness) each give a structured verdict and the panel `vote`s on it;
when all three disagree an arbiter agent breaks the tie. Two writers then `compete` to
draft the comment for the author, and a scoring rule keeps the more actionable one. A
final deterministic step assembles the review. The stages run as a `pipeline`.

Patterns: pipeline, vote (with an agent tie-break), compete (judged by a score function).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from orchestra import Agent, AgentResult, Workflow, compete, pipeline, vote

__all__ = [
    "CONCISE",
    "GOAL",
    "LINT_RULES",
    "REVIEWERS",
    "THOROUGH",
    "Review",
    "ReviewVerdict",
    "build",
    "comment_prompt",
    "comment_score",
    "lint",
    "workflow",
]

GOAL = """Review PR #212 "Add login rate limit" (auth/login.py):
@@ -10,6 +10,14 @@ def login(request):
+    attempts = int(eval(request.headers.get("X-Attempts", "0")))
+    if attempts > 5:
+        return error(429)
+    try:
+        user = db.find_user(request.form["email"])
+    except:
+        return error(401)
+    print("login", user.email)
"""

LINT_RULES: list[tuple[str, re.Pattern[str], str]] = [
    ("security", re.compile(r"\b(eval|exec)\("), "eval/exec on request data"),
    ("security", re.compile(r"(password|secret|token)\s*=\s*['\"]", re.I), "hard-coded secret"),
    ("correctness", re.compile(r"except\s*:"), "bare except hides errors"),
    ("style", re.compile(r"\bprint\("), "print() left in code; use logging"),
    ("style", re.compile(r".{101,}"), "line longer than 100 characters"),
]
"""(area, pattern over an added line, message)."""

REVIEWERS: dict[str, str] = {
    "security": "injection, secrets and unsafe calls",
    "style": "readability, naming and logging",
    "correctness": "bugs, error handling and edge cases",
}
"""Reviewer name -> what it checks."""

CONCISE = "at most 3 fixes as '- ' bullets. Be brief: under 60 words."
THOROUGH = "each fix as a '- ' bullet with a one-line reason. Under 120 words."


class ReviewVerdict(BaseModel):
    """One reviewer's vote."""

    verdict: Literal["approve", "request_changes", "block"]
    issue: str = Field(default="", description="The most important issue, in one sentence.")


class Review(BaseModel):
    """The review posted on the pull request."""

    verdict: str
    decided_by: Literal["majority", "arbiter", "none"]
    comment: str
    findings: list[str]


def lint(state: Any) -> dict[str, Any]:
    """Known problems in the added lines of the diff in the goal, as `area: message (line n)`."""
    findings: list[str] = []
    added = [line[1:] for line in state.goal.splitlines() if line.startswith("+")]
    for number, line in enumerate(added, start=1):
        for area, pattern, message in LINT_RULES:
            if pattern.search(line):
                findings.append(f"{area}: {message} (added line {number})")
    return {"added_lines": len(added), "findings": findings}


def comment_score(result: AgentResult) -> float:
    """Actionable and short wins: a point a bullet (up to 3), minus one per 50 words over 120."""
    text = str(result.output or "")
    bullets = sum(1 for line in text.splitlines() if line.lstrip().startswith(("-", "*")))
    overflow = max(0, len(text.split()) - 120)
    return min(bullets, 3) - overflow / 50


def _reviewer(name: str, model: BaseChatModel | None) -> Agent:
    return Agent(
        name,
        f"You are the {name} reviewer. Check only {REVIEWERS[name]}. "
        "Vote approve, request_changes or block.",
        model=model,
        output=ReviewVerdict,
        reads=["lint"],
    )


def comment_prompt(style: str) -> Callable[[Any], Sequence[BaseMessage]]:
    """A comment writer's prompt: the panel's verdict and the issues raised.

    Default prompts would not show the verdict: a vote's winner is a decision, not an
    agent's output. Keeping the prompt this small also suits a small model's context.
    """

    def messages(state: Any) -> Sequence[BaseMessage]:
        verdict = (state.output or {}).get("verdict", "request_changes")
        issues = [
            f"- {r.output['issue']}"
            for name in REVIEWERS
            if (r := state.latest(name)) is not None and r.output.get("issue")
        ]
        lint_result = state.latest("lint")
        issues += [f"- {f}" for f in (lint_result.output["findings"] if lint_result else [])]
        return [
            SystemMessage(f"Write the review comment for the author: the verdict, then {style}"),
            HumanMessage(f"Verdict: {verdict}\nIssues:\n" + "\n".join(issues[:6])),
        ]

    return messages


def assemble(state: Any) -> Review:
    """The posted review: the panel's verdict, who settled it, the winning comment."""
    tally = state.latest_decision("panel.tally")
    arbiter = state.latest_decision("arbiter")
    if tally is not None and tally.choice is not None:
        verdict, decided_by = tally.choice, "majority"
    elif arbiter is not None:
        verdict, decided_by = str(arbiter.choice), "arbiter"
    else:
        verdict, decided_by = "none", "none"
    lint_result = state.latest("lint")
    return Review(
        verdict=verdict,
        decided_by=decided_by,
        comment=str(state.output or ""),
        findings=lint_result.output["findings"] if lint_result else [],
    )


def build(model: BaseChatModel | None = None) -> Workflow[Any]:
    """The review workflow; `model` for every model step (None: the default model)."""
    panel = vote(
        *(_reviewer(name, model) for name in REVIEWERS),
        key="verdict",
        tie_break=Agent(
            "arbiter",
            "The reviewers disagree. Pick the verdict that best protects the codebase.",
            model=model,
        ),
        name="panel",
    )
    comment = compete(
        Agent("concise", model=model, prompt=comment_prompt(CONCISE)),
        Agent("thorough", model=model, prompt=comment_prompt(THOROUGH)),
        judge=comment_score,
        name="comment",
    )
    return pipeline(
        Agent("lint", model=lint),
        panel,
        comment,
        Agent("review", model=assemble, output=Review),
        name="code_review",
    )


workflow = build()
