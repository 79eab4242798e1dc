"""``python -m orchestra``: the same command line as ``orchestra``."""

from __future__ import annotations

from orchestra.cli import main

if __name__ == "__main__":
    main()
