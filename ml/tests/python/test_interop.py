"""Rebuilds Modelyard's forward pass from weights.safetensors + model.json alone (numpy and the
safetensors package) and checks it predicts what Modelyard predicted, within 1e-5.

MODELYARD_INTEROP_DIR holds one directory per case, written by `cargo test -p modelyard-ml
--test interop`: the two artifact files, input.csv (the raw rows) and expected.json."""
import csv, json, math, os, pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

ROOT = pathlib.Path(os.environ.get("MODELYARD_INTEROP_DIR", "interop"))
CASES = ["classification", "regression"]


def encode(model, rows):
    """The preprocessing of model.json: standardised numbers (missing -> mean), one-hot
    categories with a last slot for missing or unknown values."""
    columns = []
    for f in model["preprocessing"]["features"]:
        cells = [row[f["name"]].strip() for row in rows]
        if f["kind"] == "numeric":
            x = np.array([float(c) if c != "" else f["mean"] for c in cells], dtype=np.float64)
            columns.append(((x - f["mean"]) / f["std"])[:, None])
        else:
            cats = f["categories"]
            onehot = np.zeros((len(rows), len(cats) + 1))
            for i, c in enumerate(cells):
                onehot[i, cats.index(c) if c in cats else len(cats)] = 1.0
            columns.append(onehot)
    return np.concatenate(columns, axis=1)


def activate(z, name):
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "gelu":  # the tanh approximation
        return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    assert name == "linear", name
    return z


def forward(model, weights, x):
    h = x
    for layer in model["layers"]:
        w = lambda key: weights[layer[key]].astype(np.float64)
        if layer["type"] == "dense":
            h = activate(h @ w("weight") + w("bias"), layer["activation"])
        elif layer["type"] == "batch_norm":
            h = (h - w("running_mean")) / np.sqrt(w("running_var") + layer["epsilon"]) * w("gamma") + w("beta")
        else:
            assert layer["type"] == "dropout"  # identity at inference
    return h


@pytest.mark.parametrize("case", CASES)
def test_forward_pass_from_the_two_files_matches_modelyard(case):
    d = ROOT / case
    model = json.loads((d / "model.json").read_text())
    weights = load_file(str(d / "weights.safetensors"))
    with open(d / "input.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    expected = json.loads((d / "expected.json").read_text())
    out = forward(model, weights, encode(model, rows))
    assert len(expected) == len(rows) == out.shape[0]
    if model["output"] == "softmax":
        e = np.exp(out - out.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        classes = model["classes"]
        want = np.array([[p["probabilities"][c] for c in classes] for p in expected])
        np.testing.assert_allclose(probs, want, rtol=0, atol=1e-5)
        assert [classes[i] for i in probs.argmax(axis=1)] == [p["label"] for p in expected]
    else:
        t = model["preprocessing"]["target"]
        values = out[:, 0] * t["std"] + t["mean"]
        want = np.array([p["value"] for p in expected])
        # 1e-5 relative to the value's size (absolute below 1): f32 weights, f64 here.
        np.testing.assert_allclose(values, want, rtol=1e-5, atol=1e-5)
