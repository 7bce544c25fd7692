"""Fixtures: a fresh sled store per test, signed-in users, the iris data the repo ships."""

from __future__ import annotations

import pathlib
from typing import Iterator, Tuple

import pytest

import modelyard

REPO = pathlib.Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "data" / "iris.csv"
PASSWORD = "a long enough passphrase"
SECRET = "x" * 40


@pytest.fixture
def store(tmp_path: pathlib.Path) -> str:
    return f"sled://{tmp_path / 'data'}"


@pytest.fixture
def yard(store: str) -> Iterator[modelyard.Modelyard]:
    with modelyard.open(store, jwt_secret=SECRET) as yard:
        yield yard


@pytest.fixture
def ada(yard: modelyard.Modelyard) -> modelyard.Session:
    return yard.register("ada", "ada@example.com", PASSWORD)


@pytest.fixture
def bob(yard: modelyard.Modelyard) -> modelyard.Session:
    return yard.register("bob", "bob@example.com", PASSWORD)


def iris_split() -> Tuple[bytes, bytes]:
    """Iris as (train, test) CSV: every fifth row of the file (ten per class) held out."""
    header, *rows = IRIS.read_text().splitlines()
    train = [row for i, row in enumerate(rows) if i % 5 != 0]
    test = [row for i, row in enumerate(rows) if i % 5 == 0]
    return (
        "\n".join([header, *train]).encode() + b"\n",
        "\n".join([header, *test]).encode() + b"\n",
    )


@pytest.fixture
def iris_model(ada: modelyard.Session) -> modelyard.Model:
    iris = ada.upload_dataset(path=IRIS)
    return ada.create_model("iris mlp", iris.id, "species")
