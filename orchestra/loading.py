"""Finding a workflow from what a user types: a file, a module path, or a name in `graphs/`."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from orchestra.errors import OrchestraError
from orchestra.workflow import Workflow

__all__ = ["GraphNotFound", "load_module", "load_workflow"]


class GraphNotFound(OrchestraError):
    """The GRAPH argument names no file, module or graph that holds a workflow."""


def load_module(spec: str, *, root: Path | None = None) -> ModuleType:
    """The module `spec` points at: `graphs/support.py`, `graphs.support[:attr]` or `support`."""
    root = root or Path.cwd()
    module_part = spec.split(":", 1)[0]
    path = Path(module_part)
    if module_part.endswith(".py"):
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise GraphNotFound(f"no file {path}: give a path to a .py file defining `workflow`.")
        return _from_file(path)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # so `graphs.support` resolves from the project root
    candidates = [module_part] if "." in module_part else [f"graphs.{module_part}", module_part]
    for name in candidates:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not name.startswith(error.name):
                raise  # the module exists but one of its own imports is missing
    known = sorted(p.stem for p in (root / "graphs").glob("*.py") if not p.stem.startswith("_"))
    raise GraphNotFound(
        f"no graph {spec!r}: give a file (graphs/support.py), a module (graphs.support) or "
        f"one of the names in graphs/: {', '.join(known) or '(none found)'}."
    )


def load_workflow(spec: str, *, root: Path | None = None) -> tuple[Workflow[Any], ModuleType]:
    """The `Workflow` named by `spec` (attribute `workflow` unless `module:attr` says)."""
    module = load_module(spec, root=root)
    attribute = spec.split(":", 1)[1] if ":" in spec else "workflow"
    found = getattr(module, attribute, None)
    if not isinstance(found, Workflow):
        raise GraphNotFound(
            f"{module.__name__} has no Workflow named {attribute!r}: define "
            f"`{attribute} = pipeline(...)` (or another pattern) in it."
        )
    return found, module


def _from_file(path: Path) -> ModuleType:
    name = f"orchestra_graph_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GraphNotFound(f"cannot import {path}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
