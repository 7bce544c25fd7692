"""The Python side of the binding benchmark (``scripts/bench-python``, benches/README.md).

``bench.py train CSV EPOCHS`` and ``bench.py predict CSV CALLS WARMUP`` make the same facade
calls as ``benches/bindings/bench_facade.rs`` (its doc says what each does), through the
installed ``modelyard`` module, timed the same way, and print one JSON line, which
``benches/bindings/report.py`` reads.

Run it with the installed module on the path, not from ``bindings-python/python``.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
from typing import Any, Dict, List


def _open(directory: str) -> Any:
    """The store settings bench_facade.rs opens with (see its ``open``)."""
    import modelyard  # here: the module is imported from the installed package

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


def main(argv: List[str]) -> None:
    usage = "usage: bench.py train CSV EPOCHS | predict CSV CALLS WARMUP"
    if len(argv) == 3 and argv[0] == "train":
        print(json.dumps(train(argv[1], int(argv[2]))))
    elif len(argv) == 4 and argv[0] == "predict":
        print(json.dumps(predict(argv[1], int(argv[2]), int(argv[3]))))
    else:
        raise SystemExit(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
