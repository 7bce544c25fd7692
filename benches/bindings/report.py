"""The report of a bindings benchmark (``scripts/bench-python``, ``scripts/bench-node``;
numbers in benches/README.md).

``report.py FILE`` reads the JSON lines the sides printed — ``benches/bindings/bench_facade.rs``
(side ``rust``) and one binding's driver (``bindings-python/bench/bench.py``, side ``python``, or
``bindings-node/bench/bench.mjs``, side ``node``) — and prints the table: step, Rust, the
binding, the binding's overhead.
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any, Callable, Dict, List, Tuple


# --- report --------------------------------------------------------------------------------


def _percentile(values: List[float], q: float) -> float:
    """The q-th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _signed(values: List[float], fmt: str) -> str:
    return ", ".join(fmt.format(v) for v in values)


def report(path: str) -> None:
    """The table of one driver run. The driver runs each step as adjacent pairs of Rust and the
    binding, so the k-th Rust result of a step is paired with the k-th binding one: the per-pair
    figures show how much of a difference is noise of the machine."""
    results: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    with open(path) as file:
        for line in file:
            if line.strip():
                result = json.loads(line)
                results.setdefault((result["side"], result["step"]), []).append(result)

    def runs(side: str, step: str) -> List[Dict[str, Any]]:
        found = results.get((side, step))
        if not found:
            raise SystemExit(f"no {side} {step} result in {path}")
        return found

    bindings = sorted({side for side, _ in results} - {"rust"})
    if len(bindings) != 1:
        raise SystemExit(f"expected results of rust and one binding in {path}, got {bindings}")
    binding = bindings[0]
    name = {"python": "Python", "node": "Node"}.get(binding, binding)
    train_r, train_p = runs("rust", "train"), runs(binding, "train")
    pred_r, pred_p = runs("rust", "predict"), runs(binding, "predict")

    # Epoch 1 of every run is the warm-up, as in benches/training.rs.
    def rates(run: Dict[str, Any]) -> List[float]:
        return [epoch["samples_per_sec"] for epoch in run["epochs"][1:]]

    def micros(run: Dict[str, Any]) -> List[float]:
        return [ns / 1000 for ns in run["ns"]]

    def pooled(items: List[Dict[str, Any]], values: Callable[[Dict[str, Any]], List[float]]) -> List[float]:
        return [value for item in items for value in values(item)]

    median = statistics.median
    # Overhead is extra time: Rust's rate over the binding's for a rate, the binding's time over
    # Rust's for a time. Each line: label, Rust values, binding values, per-run values, larger is
    # better.
    lines = [
        ("train: samples/s per epoch", pooled(train_r, rates), pooled(train_p, rates),
         [median(rates(r)) / median(rates(p)) - 1 for r, p in zip(train_r, train_p)], True),
        ("train: train() until wait() returns, s", [r["wall_s"] for r in train_r],
         [p["wall_s"] for p in train_p],
         [p["wall_s"] / r["wall_s"] - 1 for r, p in zip(train_r, train_p)], False),
        ("upload large.csv, s", [r["upload_s"] for r in train_r], [p["upload_s"] for p in train_p],
         [p["upload_s"] / r["upload_s"] - 1 for r, p in zip(train_r, train_p)], False),
    ]
    print(f"{'step':<40} {'Rust':>18} {name:>18}  {name} overhead")
    print(f"{'':<40} {'median (best)':>18} {'median (best)':>18}  on the medians; per pair of runs")
    for label, rust, python, pairs, higher in lines:
        best = max if higher else min
        fmt = "{:,.0f}" if higher else "{:.2f}"
        overhead = median(rust) / median(python) - 1 if higher else median(python) / median(rust) - 1
        print(
            f"{label:<40} {fmt.format(median(rust)) + ' (' + fmt.format(best(rust)) + ')':>18} "
            f"{fmt.format(median(python)) + ' (' + fmt.format(best(python)) + ')':>18}  "
            f"{overhead:+.1%}; {_signed(pairs, '{:+.0%}')}"
        )

    rust_us, python_us = pooled(pred_r, micros), pooled(pred_p, micros)
    pairs = [median(micros(p)) - median(micros(r)) for r, p in zip(pred_r, pred_p)]
    print(f"{'':<40} {'median / p99':>18} {'median / p99':>18}  {name} - Rust")
    print(
        f"{'predict, 1 row, µs per call':<40} "
        f"{f'{median(rust_us):.0f} / {_percentile(rust_us, 99):.0f}':>18} "
        f"{f'{median(python_us):.0f} / {_percentile(python_us, 99):.0f}':>18}  "
        f"{median(python_us) - median(rust_us):+.0f} / "
        f"{_percentile(python_us, 99) - _percentile(rust_us, 99):+.0f} µs; "
        f"median of pairs {median(pairs):+.0f} µs ({_signed(pairs, '{:+.0f}')})"
    )

    print(
        f"\n{len(train_r)} + {len(train_p)} training runs of {len(train_r[0]['epochs'])} epochs on "
        f"{train_r[0]['rows']:,} rows (epoch 1 of each not counted); {len(pred_r)} + {len(pred_p)} "
        f"predict runs, {len(rust_us):,} + {len(python_us):,} timed calls."
    )
    # Same seed, same data, same trainer: both sides must have trained the very same run.
    losses = {round(run["epochs"][-1]["loss"], 9) for run in train_r + train_p}
    same = "the same in every run" if len(losses) == 1 else f"DIFFERENT: {sorted(losses)}"
    print(f"final training loss: {same}")


def main(argv: List[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: report.py FILE")
    report(argv[0])


if __name__ == "__main__":
    main(sys.argv[1:])
