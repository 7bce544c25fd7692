"""Progress bars for ``Run.wait(progress=True)``: tqdm's when it is installed, else one line on
stderr redrawn at each epoch."""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict

from ._views import RunEvent, TrainingRun

_FINAL = ("completed", "failed", "cancelled")
_SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy", "r2", "val_r2")


def _postfix(event: RunEvent) -> Dict[str, str]:
    metrics = event.metrics.to_dict()
    return {name: f"{metrics[name]:.4f}" for name in _SHOWN if metrics.get(name) is not None}


def bar(run: TrainingRun) -> Callable[[RunEvent], None]:
    """A callable that draws the run's progress from its events, and closes on its end."""
    total = int(run.params.epochs)
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return _TextBar(total)
    progress: Any = tqdm(total=total, unit="epoch", desc=f"run {run.id[:8]}")

    def update(event: RunEvent) -> None:
        if event.type == "epoch":
            progress.update(int(event.metrics.epoch) - progress.n)
            progress.set_postfix(_postfix(event), refresh=False)
        else:
            progress.set_description(f"run {run.id[:8]} {event.status}", refresh=False)
            if event.status in _FINAL:
                progress.close()

    return update


class _TextBar:
    """``run 1a2b3c4d [########............] 20/50 loss=0.4312 accuracy=0.9100``"""

    WIDTH = 24

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.line = ""

    def __call__(self, event: RunEvent) -> None:
        if event.type == "epoch":
            done = int(event.metrics.epoch)
            filled = self.WIDTH * done // self.total
            metrics = " ".join(f"{name}={value}" for name, value in _postfix(event).items())
            self.line = (
                f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{self.total} {metrics}"
            )
            sys.stderr.write(f"\r{self.line}")
        elif event.status in _FINAL:
            sys.stderr.write(f"\r{self.line} {event.status}\n" if self.line else f"{event.status}\n")
        sys.stderr.flush()
