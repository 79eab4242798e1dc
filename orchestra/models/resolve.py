"""Which chat model an agent without one uses: configured from the environment."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.language_models import BaseChatModel

from orchestra.errors import OrchestraError

__all__ = ["default_model"]


def default_model(**kwargs: Any) -> BaseChatModel:
    """`ChatOpenAI` from `OPENAI_API_KEY` / `OPENAI_BASE_URL` / `ORCHESTRA_MODEL`."""
    if not (os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")):
        raise OrchestraError(
            "No model is configured: set OPENAI_API_KEY (and optionally OPENAI_BASE_URL and "
            "ORCHESTRA_MODEL), or give each Agent a model=."
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=os.environ.get("ORCHESTRA_MODEL", "gpt-4o-mini"),
        base_url=os.environ.get("OPENAI_BASE_URL") or None,
        api_key=os.environ.get("OPENAI_API_KEY") or "local",
        **kwargs,
    )
