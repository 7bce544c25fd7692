"""Ctrl-C reaches Python while it waits on a run: a child process waiting in `run.wait()` or
in `run.events()` gets SIGINT and raises KeyboardInterrupt within 200 ms."""

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import IRIS, PASSWORD, SECRET

CHILD = textwrap.dedent(
    """
    import signal, sys, time
    import modelyard

    # Run as from a terminal: a harness that starts jobs in the background hands them SIGINT
    # ignored, and Python then keeps it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    store, iris, how = sys.argv[1:4]
    with modelyard.open(store, jwt_secret={secret!r}) as yard:
        ada = yard.register("ada", "ada@example.com", {password!r})
        data = ada.upload_dataset(path=iris)
        model = ada.create_model("m", data.id, "species")
        run = ada.train(model.id, epochs=10000, batch_size=1)
        print("waiting", flush=True)
        try:
            if how == "wait":
                run.wait()
            else:
                for _ in run.events():
                    pass
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
        run.cancel()
    """
).format(secret=SECRET, password=PASSWORD)

# The 200 ms of the promise, plus scheduling slack on a busy CI machine.
LIMIT_SECS = 0.2 + 0.3


def read_line(child, timeout=60.0):
    """The child's next stdout line, or a failure (never a hang) after `timeout` seconds."""
    lines = getattr(child, "lines", None)
    if lines is None:
        # One reader thread per child: a blocking readline cannot hang the suite.
        lines = child.lines = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in child.stdout], daemon=True
        ).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"the child said nothing for {timeout:.0f} s") from None


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
@pytest.mark.parametrize("how", ["wait", "events"])
def test_sigint_interrupts_a_wait_within_200_ms(tmp_path, how):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, f"sled://{tmp_path / 'data'}", str(IRIS), how],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert read_line(child).strip() == "waiting"
        time.sleep(0.5)  # well into the wait
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        line = read_line(child).split()
        assert line and line[0] == "interrupted", line
        latency = float(line[1]) - sent
        print(f"KeyboardInterrupt in {how}() after {latency * 1000:.0f} ms")
        assert latency < LIMIT_SECS, f"KeyboardInterrupt after {latency * 1000:.0f} ms"
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


UPLOAD_CHILD = textwrap.dedent(
    """
    import pathlib, signal, sys, time
    import modelyard

    signal.signal(signal.SIGINT, signal.default_int_handler)
    store, big = sys.argv[1:3]
    blobs = pathlib.Path(store.removeprefix("sled://")) / "blobs"
    with modelyard.open(store, jwt_secret={secret!r}) as yard:
        ada = yard.register("ada", "ada@example.com", {password!r})
        print("uploading", flush=True)
        try:
            ada.upload_dataset("big", path=big)
            print("finished", flush=True)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
        # The store is as before the upload: no dataset, and no file left once the abandoned
        # upload has been cleaned up.
        deadline = time.monotonic() + 10
        while any(p.is_file() for p in blobs.rglob("*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        files = [str(p) for p in blobs.rglob("*") if p.is_file()]
        print("left", len(ada.datasets()), len(files), flush=True)
    """
).format(secret=SECRET, password=PASSWORD)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_sigint_interrupts_a_long_upload_and_stores_nothing(tmp_path):
    # About 20 MB: seconds of parsing in a test build, far longer than the 0.3 s before SIGINT.
    big = tmp_path / "big.csv"
    row = ",".join(f"{i * 0.37:.3f}" for i in range(20)) + "\n"
    with big.open("w") as out:
        out.write(",".join(f"c{i}" for i in range(20)) + "\n")
        out.write(row * (20_000_000 // len(row)))
    child = subprocess.Popen(
        [sys.executable, "-c", UPLOAD_CHILD, f"sled://{tmp_path / 'data'}", str(big)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert read_line(child).strip() == "uploading"
        time.sleep(0.3)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        line = read_line(child).split()
        assert line and line[0] == "interrupted", line
        latency = float(line[1]) - sent
        print(f"KeyboardInterrupt in upload_dataset() after {latency * 1000:.0f} ms")
        assert latency < LIMIT_SECS, f"KeyboardInterrupt after {latency * 1000:.0f} ms"
        assert read_line(child).split() == ["left", "0", "0"]
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
