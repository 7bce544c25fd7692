import sys
import threading
import time

import pytest

import modelyard

from conftest import IRIS, PASSWORD, SECRET, iris_split


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


def test_missing_values_are_refused_unless_imputation_is_asked_for(ada, iris_model):
    assert ada.train(iris_model.id, epochs=5).wait().status == "completed"
    row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    partial = {k: v for k, v in row.items() if k != "petal_width"}
    for rows, field in [
        ([row, partial], "rows[1]"),
        ([{**row, "sepal_width": None}], "rows[0].sepal_width"),
        ([{**row, "sepal_width": "NaN"}], "rows[0].sepal_width"),
    ]:
        with pytest.raises(modelyard.ValidationError) as caught:
            ada.predict(iris_model.id, rows)
        assert caught.value.field == field
        assert "allow_missing" in str(caught.value)
        assert len(ada.predict(iris_model.id, rows, allow_missing=True)) == len(rows)
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame([row, {**row, "sepal_width": float("nan")}])
    with pytest.raises(modelyard.ValidationError) as caught:
        ada.predict_proba(iris_model.id, frame)
    assert caught.value.field == "rows[1].sepal_width"
    assert ada.predict_proba(iris_model.id, frame, allow_missing=True).shape == (2, 3)


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


def test_wait_hands_every_event_to_a_progress_callback(ada, iris_model):
    seen = []
    finished = ada.train(iris_model.id, epochs=6).wait(progress=seen.append)
    assert finished.status == "completed"
    assert [event.metrics.epoch for event in seen if event.type == "epoch"] == list(range(1, 7))
    assert seen[-1].type == "status" and seen[-1].status == "completed"


def test_wait_draws_tqdms_bar_when_it_is_installed(ada, iris_model, capsys):
    pytest.importorskip("tqdm")
    ada.train(iris_model.id, epochs=5).wait(progress=True)
    assert "5/5" in capsys.readouterr().err


def test_wait_draws_a_line_on_stderr_without_tqdm(ada, iris_model, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # `import tqdm.auto` fails
    ada.train(iris_model.id, epochs=4).wait(progress=True)
    err = capsys.readouterr().err
    assert "4/4" in err and "completed" in err and "loss=" in err


def test_a_failing_progress_callback_raises_in_the_caller(ada, iris_model):
    def broken(event):
        raise RuntimeError("the callback broke")

    run = ada.train(iris_model.id, epochs=3)
    with pytest.raises(RuntimeError, match="the callback broke"):
        run.wait(progress=broken)
    assert run.wait(timeout=30).status == "completed"


def test_predict_proba_and_history_frame_are_numpy_and_pandas(ada, iris_model):
    numpy = pytest.importorskip("numpy")
    pandas = pytest.importorskip("pandas")
    run = ada.train(iris_model.id, epochs=60)
    run.wait()
    rows = numpy.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    probabilities = ada.predict_proba(iris_model.id, rows)
    assert isinstance(probabilities, numpy.ndarray)
    assert probabilities.shape == (2, 3) and probabilities.dtype == numpy.float64
    assert numpy.allclose(probabilities.sum(axis=1), 1.0)
    # Columns in the sorted order of the labels: setosa, versicolor, virginica.
    assert list(probabilities.argmax(axis=1)) == [0, 2]
    frame = run.history_frame()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame["epoch"]) == list(range(1, 61)) and "loss" in frame.columns


def test_two_threads_train_at_once(yard, iris_model):
    # Two users, each in a thread of their own, train at the same time on one yard.
    sessions = [
        yard.login("ada@example.com", PASSWORD),
        yard.register("bob", "bob@example.com", PASSWORD),
    ]
    bob_data = sessions[1].upload_dataset(path=IRIS)
    models = [iris_model, sessions[1].create_model("bob mlp", bob_data.id, "species")]
    results = [None, None]

    def train(i):
        results[i] = sessions[i].train(models[i].id, epochs=40).wait(timeout=120)

    threads = [threading.Thread(target=train, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [result.status for result in results] == ["completed", "completed"]
    assert [len(result.history) for result in results] == [40, 40]


def test_the_same_directory_opens_twice_in_one_process(store, iris_model, ada):
    # A second open of the directory a live yard holds shares that yard's stores.
    with modelyard.open(store, jwt_secret=SECRET) as again:
        same = again.login("ada@example.com", PASSWORD)
        assert [model.id for model in same.models()] == [iris_model.id]
        assert same.train(iris_model.id, epochs=2).wait(timeout=60).status == "completed"
    # Closing the second leaves the first working.
    assert [model.id for model in ada.models()] == [iris_model.id]


def test_lists_page_and_runs_list_without_history_and_finished_runs_delete(ada, iris_model):
    first = ada.train(iris_model.id, epochs=3).wait()
    second = ada.train(iris_model.id, epochs=2).wait()
    [newest, oldest] = ada.runs()
    assert [newest.id, oldest.id] == [second.id, first.id]
    assert newest.history == [] and newest.epochs_completed == 2
    assert len(ada.run(second.id).history) == 2
    # The history pages oldest first; `after` is the last epoch of the page before.
    handle = ada.run(first.id)
    assert [m.epoch for m in handle.history_page(limit=2)] == [1, 2]
    assert [m.epoch for m in handle.history_page(limit=2, after=2)] == [3]
    assert handle.history_page(after=3) == []
    with pytest.raises(modelyard.ValidationError) as caught:
        handle.history_page(limit=0)
    assert caught.value.field == "limit"
    [page] = ada.runs(limit=1)
    assert page.id == second.id
    [rest] = ada.runs(limit=1, after=page.id)
    assert rest.id == first.id
    assert ada.runs(limit=1, after=rest.id) == []
    with pytest.raises(modelyard.ValidationError) as caught:
        ada.datasets(limit=0)
    assert caught.value.field == "limit"
    with pytest.raises(modelyard.ValidationError) as caught:
        ada.models(after="not-an-id")
    assert caught.value.field == "after"
    ada.delete_run(first.id)
    assert [run.id for run in ada.runs()] == [second.id]
    with pytest.raises(modelyard.NotFoundError):
        ada.delete_run(first.id)
    running = ada.train(iris_model.id, epochs=500, batch_size=4)
    with pytest.raises(modelyard.ConflictError):
        ada.delete_run(running.id)
    running.cancel()
    running.wait(timeout=30)
