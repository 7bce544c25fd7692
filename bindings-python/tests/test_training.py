import threading
import time

import pytest

import modelyard

from conftest import iris_split


@pytest.fixture
def iris_train_test(ada):
    train_csv, test_csv = iris_split()
    train = ada.upload_dataset("iris-train", data=train_csv)
    test = ada.upload_dataset("iris-test", data=test_csv)
    return train, test


def test_iris_trains_to_093_test_accuracy(ada, iris_train_test):
    train, test = iris_train_test
    model = ada.create_model("iris mlp", train.id, "species")
    assert model.task == "classification"
    finished = ada.train(model.id, epochs=100, seed=7).wait()
    assert finished.status == "completed", finished.error
    evaluation = ada.evaluate(model.id, test.id)
    assert evaluation.metrics["accuracy"] >= 0.93, evaluation
    assert ada.model(model.id).latest_version.run_id == finished.id


def test_events_come_in_order_without_duplicates_and_end_after_the_final_status(
    ada, iris_model
):
    run = ada.train(iris_model.id, epochs=8)
    events = list(run.events())
    epochs = [event.metrics.epoch for event in events if event.type == "epoch"]
    assert epochs == list(range(1, 9))
    assert events[-1].type == "status" and events[-1].status == "completed"
    assert [epoch.epoch for epoch in run.history] == epochs
    assert all(isinstance(event, modelyard.RunEvent) for event in events)


def test_wait_returns_the_finished_run_and_a_timeout_raises(ada, iris_model):
    run = ada.train(iris_model.id, epochs=200, batch_size=4)
    with pytest.raises(TimeoutError):
        run.wait(timeout=0.05)
    run.cancel()
    finished = run.wait(timeout=30)
    assert isinstance(finished, modelyard.TrainingRun)
    assert finished.status == "cancelled"


def test_train_parameters_are_checked_by_name(ada, iris_model):
    with pytest.raises(modelyard.ValidationError) as caught:
        ada.train(iris_model.id, epochs=0)
    assert caught.value.field == "epochs"
    with pytest.raises(modelyard.ValidationError) as caught:
        ada.train(iris_model.id, optimizer="rmsprop")
    assert caught.value.field == "optimizer"
    with pytest.raises(TypeError):
        ada.train(iris_model.id, epoch=3)


def test_predict_takes_dicts_dataframes_and_arrays(ada, iris_model):
    assert ada.train(iris_model.id, epochs=60).wait().status == "completed"
    row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    [from_dicts] = ada.predict(iris_model.id, [row])
    assert isinstance(from_dicts, modelyard.Prediction)
    assert from_dicts.label == "setosa"
    assert set(from_dicts.probabilities) == {"setosa", "versicolor", "virginica"}
    pandas = pytest.importorskip("pandas")
    numpy = pytest.importorskip("numpy")
    [from_frame] = ada.predict(iris_model.id, pandas.DataFrame([row]))
    [from_array] = ada.predict(iris_model.id, numpy.array([[5.1, 3.5, 1.4, 0.2]]))
    assert from_frame.label == from_array.label == "setosa"
    with pytest.raises(modelyard.ValidationError):
        ada.predict(iris_model.id, numpy.array([[5.1, 3.5]]))


def test_summary_prints_like_keras(ada, iris_model):
    summary = ada.summary(iris_model.id)
    text = str(summary)
    assert "Layer (type)" in text and "Output Shape" in text
    assert f"Total params: {summary.total_params:,}" in text


def test_a_finished_run_notifies_and_the_archive_downloads(ada, iris_model):
    ada.train(iris_model.id, epochs=3).wait()
    [notification] = ada.notifications()
    assert notification.kind == "run_completed" and not notification.read
    assert ada.mark_read(notification.id).read
    archive = ada.model_archive(iris_model.id)
    assert archive.filename.endswith(".zip")
    assert archive.data[:2] == b"PK"


def test_another_python_thread_keeps_running_during_training(ada, iris_model):
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        started = time.monotonic()
        ada.train(iris_model.id, epochs=300, batch_size=4).wait()  # about a second
        elapsed = time.monotonic() - started
    finally:
        done.set()
        counter.join()
    # A thread blocked on the GIL would count (almost) nothing during the wait.
    assert ticks >= elapsed * 100, (ticks, elapsed)
