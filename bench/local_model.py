"""Throughput (tokens/s) and per-call latency of the embedded local model, over real HTTP."""

from __future__ import annotations

import statistics
import time

from orchestra.models import LocalModelServer, local_model, local_model_unavailable_reason

PROMPTS = [
    "Explain in two sentences what a checkpoint is.",
    "List three uses of a message queue.",
    "Describe a lighthouse to a child.",
    "Give two tips for writing clear error messages.",
    "Summarise why tests should use real components.",
]


def main(calls: int = len(PROMPTS), max_tokens: int = 64) -> None:
    """Print one line: median tokens/s and latency per call (end to end over HTTP)."""
    reason = local_model_unavailable_reason()
    if reason is not None:
        print(f"local model: not measured ({reason})")
        return
    server = LocalModelServer()
    was_running = server.status() is not None
    started = time.perf_counter()
    info = server.up()
    startup = time.perf_counter() - started
    try:
        model = local_model(server=server, max_tokens=max_tokens, temperature=0.0, notice=False)
        model.invoke("Hi")  # warm-up: first-call costs are not steady-state latency
        latencies: list[float] = []
        rates: list[float] = []
        generated = 0
        for index in range(calls):
            began = time.perf_counter()
            reply = model.invoke(PROMPTS[index % len(PROMPTS)])
            latencies.append(time.perf_counter() - began)
            tokens = reply.usage_metadata["output_tokens"] if reply.usage_metadata else 0
            rates.append(tokens / latencies[-1])
            generated += tokens
    finally:
        if not was_running:
            server.down()
    start_note = "already running" if was_running else f"started in {startup:.1f} s"
    # Medians: the machine is shared, and one call slowed by a neighbour
    # should not stand for the model's speed.
    print(
        f"local model {info.model}: {statistics.median(rates):.1f} tokens/s, "
        f"{statistics.median(latencies) * 1000:.0f} ms per call median "
        f"(min {min(latencies) * 1000:.0f}, max {max(latencies) * 1000:.0f}; {calls} calls, "
        f"{generated / calls:.0f} tokens generated each on average, max_tokens={max_tokens}; "
        f"server {start_note})"
    )


if __name__ == "__main__":
    main()
