"""The asyncio flavour: the same pipeline as coroutines, on the library's runtime, never
blocking the event loop."""

import asyncio
import time

import pytest

import modelyard
import modelyard.aio

from conftest import IRIS, PASSWORD, SECRET, iris_split

ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def run(coroutine):
    return asyncio.run(coroutine)


def test_iris_end_to_end_with_live_events(store):
    async def main():
        async with modelyard.aio.open(store, jwt_secret=SECRET) as yard:
            assert isinstance(yard, modelyard.aio.Modelyard)
            ada = await yard.register("ada", "ada@example.com", PASSWORD)
            train_csv, test_csv = iris_split()
            train = await ada.upload_dataset("iris-train", data=train_csv)
            test = await ada.upload_dataset("iris-test", data=test_csv)
            model = await ada.create_model("iris mlp", train.id, "species")
            run = await ada.train(model.id, epochs=100, seed=7)
            events = [event async for event in run.events()]
            finished = await run.wait(timeout=60)
            evaluation = await ada.evaluate(model.id, test.id)
            [prediction] = await ada.predict(model.id, [ROW])
            return events, finished, evaluation, prediction

    events, finished, evaluation, prediction = run(main())
    epochs = [event.metrics.epoch for event in events if event.type == "epoch"]
    assert epochs == list(range(1, 101))
    assert events[-1].type == "status" and events[-1].status == "completed"
    assert finished.status == "completed"
    assert evaluation.metrics["accuracy"] >= 0.93, evaluation
    assert isinstance(prediction, modelyard.Prediction) and prediction.label == "setosa"


def test_the_event_loop_keeps_running_during_training_and_uploads(store):
    gaps = []

    async def ticker(stop):
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def main():
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker(stop))
        yard = await modelyard.aio.open(store, jwt_secret=SECRET)
        ada = await yard.register("ada", "ada@example.com", PASSWORD)
        header, *rows = IRIS.read_text().splitlines()
        big = "\n".join([header, *(rows * 400)]).encode()  # 60,000 rows, ~1.8 MB
        data = await ada.upload_dataset("big iris", data=big)
        model = await ada.create_model("m", data.id, "species")
        await (await ada.train(model.id, epochs=3)).wait()
        await yard.close()
        stop.set()
        await ticking

    run(main())
    worst = max(gaps)
    print(f"event loop: {len(gaps)} ticks of 5 ms, worst gap {worst * 1000:.1f} ms")
    # A loop blocked by the upload's parse or by training would show a gap of seconds.
    assert worst < 0.25, f"the event loop stalled for {worst * 1000:.0f} ms"


def test_errors_are_the_same_exceptions(store):
    async def main():
        async with modelyard.aio.open(store, jwt_secret=SECRET) as yard:
            ada = await yard.register("ada", "ada@example.com", PASSWORD)
            with pytest.raises(modelyard.ConflictError):
                await yard.register("ada", "ada@example.com", PASSWORD)
            with pytest.raises(modelyard.NotFoundError):
                await ada.dataset("01a21cb5-99ae-70e9-9dd1-47b4df2fba2b")
            with pytest.raises(modelyard.AuthError):
                await yard.login("ada@example.com", "wrong passphrase!!")
            with pytest.raises(modelyard.ValidationError) as caught:
                await ada.upload_dataset(path=IRIS, data=b"a,b\n1,2\n")
            assert caught.value.field == "data"
        with pytest.raises(modelyard.ValidationError) as caught:
            await modelyard.aio.open(store, jwt_secret=SECRET, wokers=1)
        assert caught.value.field == "wokers"

    run(main())


def test_a_cancelled_wait_stops_waiting_not_the_run_and_leaving_events_releases_them(store):
    async def main():
        yard = await modelyard.aio.open(store, jwt_secret=SECRET)
        ada = await yard.register("ada", "ada@example.com", PASSWORD)
        data = await ada.upload_dataset(path=IRIS)
        model = await ada.create_model("m", data.id, "species")
        run = await ada.train(model.id, epochs=5000, batch_size=1)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(run.wait(), timeout=0.2)
        with pytest.raises(TimeoutError):
            await run.wait(timeout=0.05)
        assert await run.status() in ("queued", "running")
        async for event in run.events():
            if event.type == "epoch":
                break
        cancelled = await run.cancel()
        finished = await run.wait(timeout=30)
        await yard.close()
        return cancelled, finished

    cancelled, finished = run(main())
    assert finished.status == "cancelled"


def test_sessions_and_runs_come_back_by_token_and_id(store):
    async def main():
        async with modelyard.aio.open(store, jwt_secret=SECRET) as yard:
            ada = await yard.register("ada", "ada@example.com", PASSWORD)
            again = await yard.session(ada.token)
            data = await again.upload_dataset(path=IRIS)
            model = await again.create_model("m", data.id, "species")
            started = await again.train(model.id, epochs=2)
            same = await ada.run(started.id)
            finished = await same.wait()
            history = await same.history()
            summary = await ada.summary(model.id)
            archive = await ada.model_archive(model.id)
            [notification] = await ada.notifications()
            await ada.logout()
            with pytest.raises(modelyard.AuthError):
                await ada.me()
            return finished, history, summary, archive, notification

    finished, history, summary, archive, notification = run(main())
    assert finished.status == "completed" and [m.epoch for m in history] == [1, 2]
    assert summary.total_params > 0
    assert archive.data[:2] == b"PK"
    assert notification.kind == "run_completed"


def test_handles_are_not_picklable(store):
    import pickle

    async def main():
        async with modelyard.aio.open(store, jwt_secret=SECRET) as yard:
            ada = await yard.register("ada", "ada@example.com", PASSWORD)
            for handle in (yard, ada):
                with pytest.raises(TypeError, match="cannot be pickled"):
                    pickle.dumps(handle)

    run(main())


def test_lists_page_and_runs_delete_as_in_the_sync_api(store):
    async def main():
        async with modelyard.aio.open(store, jwt_secret=SECRET) as yard:
            ada = await yard.register("ada", "ada@example.com", PASSWORD)
            first = await ada.upload_dataset("one", path=IRIS)
            second = await ada.upload_dataset("two", path=IRIS)
            [page] = await ada.datasets(limit=1)
            assert page.id == second.id
            [rest] = await ada.datasets(limit=1, after=page.id)
            assert rest.id == first.id
            assert len(await ada.datasets()) == 2
            model = await ada.create_model("iris mlp", first.id, "species")
            run = await ada.train(model.id, epochs=2)
            finished = await run.wait()
            [listed] = await ada.runs()
            assert listed.history == [] and listed.epochs_completed == 2
            [second_epoch] = await run.history_page(limit=1, after=1)
            assert second_epoch.epoch == 2
            await ada.delete_run(finished.id)
            assert await ada.runs() == []

    run(main())
