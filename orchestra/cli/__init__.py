"""The ``orchestra`` command line."""

from __future__ import annotations

from orchestra.cli.app import app, main

__all__ = ["app", "main"]
