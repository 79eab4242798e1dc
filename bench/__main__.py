"""Run every benchmark and print its ratios against plain LangGraph (`make bench`)."""

from __future__ import annotations

from bench import patterns


def main() -> None:
    print("== pattern overhead (orchestra / plain LangGraph; lower is better)")
    patterns.main()
    patterns.main(rounds=5, latency=0.005)


if __name__ == "__main__":
    main()
