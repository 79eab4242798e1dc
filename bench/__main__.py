"""Run every benchmark and print ratios against plain LangGraph."""

if __name__ == "__main__":
    print("no benchmarks yet")
