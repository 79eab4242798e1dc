"""Run every benchmark and print its ratios against plain LangGraph (`make bench`)."""

from __future__ import annotations

from bench import audit, checkpointer, crash_repeats, load, local_model, patterns


def main() -> None:
    """Run the benchmarks in turn."""
    print("== pattern overhead (orchestra / plain LangGraph; lower is better)")
    patterns.main()
    patterns.main(rounds=5, latency=0.005)
    print("== the embedded local model (what orchestration overhead compares against)")
    local_model.main()
    print("== checkpointer (orchestra / LangGraph's savers)")
    checkpointer.main()
    print("== the audit trail's cost per durable step (ms)")
    audit.main()
    print("== calls repeated after a crash (plain LangGraph / orchestra's journal)")
    crash_repeats.main()
    print("== under load (orchestra / plain LangGraph)")
    load.main()


if __name__ == "__main__":
    main()
