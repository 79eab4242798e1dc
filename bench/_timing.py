"""Interleaved timing: alternate the contenders so drift on the machine hits them alike."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def interleaved(
    contenders: dict[str, Callable[[], object]], *, rounds: int, warmup: int = 2
) -> dict[str, float]:
    """Median seconds per call of each contender, measured in alternation."""
    for _ in range(warmup):
        for run in contenders.values():
            run()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            gc.collect()
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}
