"""LangGraph's checkpointer conformance suite, run against both back-ends."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from orchestra.checkpoint import SQLCheckpointer


async def test_conformance_suite_detects_and_passes_all_eight_capabilities(db_url: str) -> None:
    @checkpointer_test(name=f"SQLCheckpointer({db_url.split(':')[0]})")
    async def factory() -> AsyncGenerator[SQLCheckpointer, None]:
        saver = SQLCheckpointer(db_url)
        try:
            yield saver
        finally:
            await saver.aclose()

    report = await validate(factory, progress=ProgressCallbacks.verbose())

    detected = {name for name, result in report.results.items() if result.detected}
    assert detected == {c.value for c in ALL_CAPABILITIES}
    failures = {n: r.failures for n, r in report.results.items() if r.passed is not True}
    assert failures == {}
    passed = sum(r.tests_passed for r in report.results.values())
    print(f"conformance: {len(detected)}/8 capabilities, {passed} tests passed")
    assert passed >= 80
