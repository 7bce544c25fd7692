"""The shared backends from Python: MongoDB (records and files) with Redis (cache, live events,
rate limits), the layout many API servers and workers share. The services come from
MODELYARD_TEST_MONGO_URL and MODELYARD_TEST_REDIS_URL, as for the Rust tests: outside CI a
missing one skips, under CI=true it fails."""

import os
import time

import pytest

import modelyard

from conftest import IRIS, PASSWORD, SECRET


def service(variable: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{variable} is required under CI=true")
    pytest.skip(f"{variable} is not set")


@pytest.fixture
def shared() -> dict:
    mongo = service("MODELYARD_TEST_MONGO_URL").rstrip("/")
    redis = service("MODELYARD_TEST_REDIS_URL")
    unique = f"{time.time_ns():x}{os.getpid():x}"
    return {
        "store": f"{mongo}/modelyard_python_{unique}",
        "cache": redis,
        "cache_namespace": f"modelyard-python-{unique}",
        "jwt_secret": SECRET,
    }


def test_two_yards_on_mongodb_and_redis_share_users_data_and_runs(shared):
    # A worker process's yard and an API process's yard (no workers), in one process here.
    with modelyard.open(**shared) as worker, modelyard.open(**shared, workers=0) as api:
        ada = api.register("ada", "ada@example.com", PASSWORD)
        data = ada.upload_dataset(path=IRIS)
        model = ada.create_model("iris mlp", data.id, "species")
        run = ada.train(model.id, epochs=30)
        epochs = [e.metrics.epoch for e in run.events() if e.type == "epoch"]
        assert epochs == list(range(1, 31))
        assert run.wait(timeout=120).status == "completed"
        # The other yard sees the same account, files and trained model.
        same = worker.login("ada@example.com", PASSWORD)
        assert same.preview(data.id, limit=3).rows[0][4] == "setosa"
        evaluation = same.evaluate(model.id, data.id)
        assert evaluation.metrics["accuracy"] > 0.8
        # A logout through one yard is seen by the other (it is kept in the shared user record).
        ada.logout()
        with pytest.raises(modelyard.AuthError):
            worker.session(ada.token)


def test_a_down_store_is_unavailable_not_a_hang(shared):
    shared["store"] = "mongodb://127.0.0.1:9/modelyard_nowhere"
    started = time.monotonic()
    with pytest.raises(modelyard.UnavailableError):
        with modelyard.open(**shared) as yard:
            yard.check_ready()
    assert time.monotonic() - started < 60
