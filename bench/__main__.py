"""Run every benchmark and print one line each."""

from __future__ import annotations

from bench import local_model


def main() -> None:
    """Run the benchmarks in turn."""
    local_model.main()


if __name__ == "__main__":
    main()
