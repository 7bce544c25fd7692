#!/usr/bin/env python3
"""The ingest peers of benches/ingest.rs: pandas.read_csv and polars.read_csv on the same file.

    python3 -m venv .venv-peers && .venv-peers/bin/pip install pandas polars
    .venv-peers/bin/python benches/peers/ingest_peers.py $PEERDATA/large.csv [RUNS]

Each reader parses the whole file into typed columns RUNS times (default 5) after one warm-up
read; prints the median and best time and MiB/s per reader, and the threads polars used.
"""

import os
import statistics
import sys
import time


def timed(read, path, runs):
    read(path)  # warm-up: the file is in the page cache for every reader alike
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        read(path)
        times.append(time.perf_counter() - started)
    return times


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    mib = os.path.getsize(path) / (1 << 20)
    import pandas
    import polars

    readers = {
        f"pandas {pandas.__version__} read_csv": pandas.read_csv,
        f"polars {polars.__version__} read_csv ({polars.thread_pool_size()} threads)": polars.read_csv,
    }
    print(f"{path}: {mib:.1f} MiB, {runs} runs after a warm-up")
    for name, read in readers.items():
        times = timed(read, path, runs)
        median = statistics.median(times)
        best = min(times)
        print(f"{name:48} median {median:6.2f} s = {mib / median:6.1f} MiB/s; best {best:6.2f} s = {mib / best:6.1f} MiB/s")


if __name__ == "__main__":
    main()
