"""Small workflows run for real (scripted models, a SQLite file) for the overlay and report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestra import Agent, Workflow, pipeline, refine, router
from orchestra.checkpoint import SQLCheckpointer
from orchestra.models import ScriptedModel
from orchestra.runtime import run

OUTPUT_WITH_MARKUP = "Revenue rose <b>4%</b> & <script>alert(1)</script> this quarter."


def desk(fail_editor: bool = False) -> Workflow[Any]:
    """A router that always takes `numbers` (analyst), never `words` (writer), then an
    editor inside a refine loop whose critic rejects the first draft."""

    def editing(state: Any) -> str:
        if fail_editor:
            raise RuntimeError("the editor's service is down")
        return OUTPUT_WITH_MARKUP

    drafts = {"count": 0}

    def critic(state: Any) -> bool | str:
        drafts["count"] += 1
        return True if drafts["count"] > 1 else "Say what the numbers mean."

    return pipeline(
        router(
            lambda state: "numbers",
            routes={
                "numbers": Agent("analyst", model=ScriptedModel(replies=["revenue up 4%"])),
                "words": Agent("writer", model=lambda state: "prose"),
            },
            name="desk",
        ),
        refine(Agent("editor", model=editing), critic, name="polish"),
        name="report",
    )


def run_desk(db: Path, thread: str, fail_editor: bool = False) -> SQLCheckpointer:
    """Run `desk()` on `thread` in the SQLite file `db`; its open checkpointer."""
    saver = SQLCheckpointer(f"sqlite:///{db}")
    try:
        run(desk(fail_editor), "Summarise Q3.", thread_id=thread, checkpointer=saver)
    except RuntimeError:
        assert fail_editor
    return saver
