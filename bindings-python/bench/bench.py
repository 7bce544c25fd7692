"""The Python side of the binding benchmark (``scripts/bench-python``, benches/README.md).

``bench.py train CSV EPOCHS`` and ``bench.py predict CSV CALLS WARMUP`` make the same facade
calls as ``bench_facade.rs`` (its doc says what each does), through the installed ``modelyard``
module, timed the same way, and print one JSON line. ``bench.py report FILE`` reads the JSON
lines of both sides and prints the table: step, Rust, Python, overhead.

Run it with the installed module on the path, not from ``bindings-python/python``.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Tuple


def _open(directory: str) -> Any:
    """The store settings bench_facade.rs opens with (see its ``open``)."""
    import modelyard  # here, so that ``report`` runs without the module


    return modelyard.open(
        store=f"sled://{directory}", max_upload_bytes=256 << 20, poll_interval_ms=10
    )


def train(path: str, epochs: int) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory, _open(directory) as yard:
        session = yard.register("bench", "bench@example.com", "correct horse battery")

        started = time.perf_counter()
        dataset = session.upload_dataset("large", path=path)
        upload_s = time.perf_counter() - started

        hidden = {"type": "dense", "units": 512, "activation": "relu"}
        model = session.create_model(
            "large mlp", dataset.id, target="label", task="classification", layers=[hidden, hidden]
        )
        started = time.perf_counter()
        run = session.train(
            model.id,
            epochs=epochs,
            batch_size=128,
            learning_rate=1e-3,
            optimizer="adam",
            validation_split=0.0,
        ).wait()
        wall_s = time.perf_counter() - started
        if run.status != "completed":
            raise SystemExit(f"run ended {run.status}: {run.error}")
    fields = ("epoch", "loss", "duration_ms", "samples_per_sec")
    return {
        "side": "python",
        "step": "train",
        "rows": dataset.row_count,
        "upload_s": upload_s,
        "wall_s": wall_s,
        "epochs": [{name: getattr(m, name) for name in fields} for m in run.history],
    }


def first_row(path: str, target: str) -> Dict[str, Any]:
    """The first data row without ``target``: numbers as floats (as bench_facade.rs reads it)."""

    def value(cell: str) -> Any:
        try:
            return float(cell)
        except ValueError:
            return cell

    with open(path, newline="") as file:
        reader = csv.reader(file)
        header, row = next(reader), next(reader)
    return {name: value(cell) for name, cell in zip(header, row) if name != target}


def predict(path: str, calls: int, warmup: int) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory, _open(directory) as yard:
        session = yard.register("bench", "bench@example.com", "correct horse battery")
        iris = session.upload_dataset("iris", path=path)
        model = session.create_model("iris mlp", iris.id, target="species")
        run = session.train(model.id, epochs=30).wait()
        if run.status != "completed":
            raise SystemExit(f"run ended {run.status}: {run.error}")

        model_id, rows = model.id, [first_row(path, "species")]
        for _ in range(warmup):
            session.predict(model_id, rows)
        clock, ns = time.perf_counter_ns, []
        for _ in range(calls):
            started = clock()
            session.predict(model_id, rows)
            ns.append(clock() - started)
    return {"side": "python", "step": "predict", "ns": ns}


# --- report --------------------------------------------------------------------------------


def _percentile(values: List[float], q: float) -> float:
    """The q-th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _signed(values: List[float], fmt: str) -> str:
    return ", ".join(fmt.format(v) for v in values)


def report(path: str) -> None:
    """The table of one driver run. The driver runs each step as adjacent Rust/Python pairs, so
    the k-th Rust result of a step is paired with the k-th Python one: the per-pair figures show
    how much of a difference is noise of the machine."""
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

    train_r, train_p = runs("rust", "train"), runs("python", "train")
    pred_r, pred_p = runs("rust", "predict"), runs("python", "predict")

    # Epoch 1 of every run is the warm-up, as in benches/training.rs.
    def rates(run: Dict[str, Any]) -> List[float]:
        return [epoch["samples_per_sec"] for epoch in run["epochs"][1:]]

    def micros(run: Dict[str, Any]) -> List[float]:
        return [ns / 1000 for ns in run["ns"]]

    def pooled(items: List[Dict[str, Any]], values: Callable[[Dict[str, Any]], List[float]]) -> List[float]:
        return [value for item in items for value in values(item)]

    median = statistics.median
    # Overhead is extra time: Rust's rate over Python's for a rate, Python's time over Rust's
    # for a time. Each line: label, Rust values, Python values, per-run values, larger is better.
    lines = [
        ("train: samples/s per epoch", pooled(train_r, rates), pooled(train_p, rates),
         [median(rates(r)) / median(rates(p)) - 1 for r, p in zip(train_r, train_p)], True),
        ("train: train() until wait() returns, s", [r["wall_s"] for r in train_r],
         [p["wall_s"] for p in train_p],
         [p["wall_s"] / r["wall_s"] - 1 for r, p in zip(train_r, train_p)], False),
        ("upload large.csv, s", [r["upload_s"] for r in train_r], [p["upload_s"] for p in train_p],
         [p["upload_s"] / r["upload_s"] - 1 for r, p in zip(train_r, train_p)], False),
    ]
    print(f"{'step':<40} {'Rust':>18} {'Python':>18}  Python overhead")
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
    print(f"{'':<40} {'median / p99':>18} {'median / p99':>18}  Python - Rust")
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
    usage = "usage: bench.py train CSV EPOCHS | predict CSV CALLS WARMUP | report FILE"
    if len(argv) == 3 and argv[0] == "train":
        print(json.dumps(train(argv[1], int(argv[2]))))
    elif len(argv) == 4 and argv[0] == "predict":
        print(json.dumps(predict(argv[1], int(argv[2]), int(argv[3]))))
    elif len(argv) == 2 and argv[0] == "report":
        report(argv[1])
    else:
        raise SystemExit(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
