"""Quickstart: open the embedded store, sign up, upload the bundled iris CSV (split 80/20 into a
training and a test dataset), define a model, train it with a progress bar, print its test
accuracy and predict three rows.

    pip install ./bindings-python
    python examples/python/quickstart.py            # data in ./quickstart-data
"""

from __future__ import annotations

import pathlib
import sys

import modelyard

IRIS = pathlib.Path(__file__).resolve().parents[1] / "data" / "iris.csv"
EMAIL, PASSWORD = "ada@example.com", "correct horse battery"


def split(csv: str) -> tuple[bytes, bytes]:
    """Every fifth row held out for testing."""
    header, *rows = csv.splitlines()
    train = [row for i, row in enumerate(rows) if i % 5 != 0]
    test = [row for i, row in enumerate(rows) if i % 5 == 0]
    return ("\n".join([header, *train]) + "\n").encode(), ("\n".join([header, *test]) + "\n").encode()


def main(data_dir: str) -> None:
    with modelyard.open(f"sled://{data_dir}") as yard:
        try:
            yard.register("ada", EMAIL, PASSWORD)
            print("registered ada")
        except modelyard.ConflictError:
            print(f"ada already registered in {data_dir}")
        ada = yard.login(EMAIL, PASSWORD)

        train_csv, test_csv = split(IRIS.read_text())
        train = ada.upload_dataset("iris-train", data=train_csv)
        test = ada.upload_dataset("iris-test", data=test_csv)
        print(f"uploaded {train.name}: {train.row_count} rows, {len(train.schema.columns)} columns")

        model = ada.create_model("iris mlp", train.id, target="species")
        print(ada.summary(model.id))

        finished = ada.train(model.id, epochs=100, seed=7).wait(progress=True)
        print(f"run {finished.status}: {finished.final_metrics}")

        evaluation = ada.evaluate(model.id, test.id)
        print(f"test accuracy: {evaluation.metrics['accuracy']:.3f}")

        rows = [
            {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
            {"sepal_length": 6.0, "sepal_width": 2.7, "petal_length": 4.1, "petal_width": 1.0},
            {"sepal_length": 6.9, "sepal_width": 3.1, "petal_length": 5.7, "petal_width": 2.2},
        ]
        for row, prediction in zip(rows, ada.predict(model.id, rows)):
            confidence = max(prediction.probabilities.values())
            print(f"{row} -> {prediction.label} ({confidence:.0%})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "./quickstart-data")
