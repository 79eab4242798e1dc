"""Benchmarks against plain LangGraph and LangGraph's own savers."""
