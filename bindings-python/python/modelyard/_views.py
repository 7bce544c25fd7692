"""What Modelyard returns: read-only view objects with snake_case attributes.

The native module serialises each of the facade's views and calls :func:`_make` with the view's
Rust type name and its fields; the classes here add attribute access, a readable ``repr``,
``to_dict()``, equality and pickling.
"""

from __future__ import annotations

import datetime as _dt
import re as _re
from collections.abc import Mapping
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = [
    "View",
    "User",
    "Dataset",
    "DatasetSchema",
    "ColumnSchema",
    "Preview",
    "Model",
    "ModelSummary",
    "LayerSummary",
    "ModelVersion",
    "TrainingRun",
    "TrainParams",
    "EpochMetrics",
    "RunEvent",
    "Notification",
    "Prediction",
    "Evaluation",
    "ModelArchive",
    "BackupSummary",
]

_TIMESTAMP = _re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _timestamp(value: Any) -> Any:
    """An RFC 3339 string as an aware ``datetime`` (any Python >= 3.9); other values as given."""
    if not isinstance(value, str):
        return value
    match = _TIMESTAMP.match(value)
    if match is None:
        return value
    seconds, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if zone == "Z" else zone
    return _dt.datetime.fromisoformat(f"{seconds}.{micros}{zone}")


class View:
    """A read-only record: attributes, ``view["field"]``, ``to_dict()``."""

    __slots__ = ("_fields",)
    #: The facade's type name (not `kind`: several views have a field of that name).
    _kind = "View"
    #: Fields shown by ``repr``; all of them when empty.
    _shown: Tuple[str, ...] = ()

    def __init__(self, fields: Dict[str, Any]) -> None:
        converted = {
            name: _timestamp(value) if name.endswith("_at") else value
            for name, value in fields.items()
        }
        object.__setattr__(self, "_fields", converted)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, name: str) -> Any:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def keys(self) -> Any:
        """The field names (so that ``dict(view)`` works)."""
        return self._fields.keys()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, View):
            return NotImplemented
        return type(self) is type(other) and self._fields == other._fields

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (_make, (self._kind, dict(self._fields)))

    def __dir__(self) -> List[str]:
        return sorted(set(super().__dir__()) | set(self._fields))

    def to_dict(self) -> Dict[str, Any]:
        """The fields as plain dicts and lists, nested views included."""
        return {name: _plain(value) for name, value in self._fields.items()}

    def __repr__(self) -> str:
        names = self._shown or tuple(self._fields)
        shown = ", ".join(
            f"{name}={_short(self._fields[name])}" for name in names if name in self._fields
        )
        return f"{type(self).__name__}({shown})"


# A view is registered as a Mapping, not derived from one: the native module's serialiser wants
# a mapping, and Mapping's `values`/`items`/`get` methods would hide fields of those names
# (`ColumnStats.values`).
Mapping.register(View)


def _plain(value: Any) -> Any:
    if isinstance(value, View):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _short(value: Any) -> str:
    if isinstance(value, list) and len(value) > 3:
        return f"[... {len(value)} items]"
    if isinstance(value, _dt.datetime):
        return repr(value.isoformat())
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


class User(View):
    """A user as anyone may see them."""

    _kind = "PublicUser"
    _shown = ("id", "username", "email")


class Dataset(View):
    """An uploaded table with its inferred schema and column statistics."""

    _kind = "Dataset"
    _shown = ("id", "name", "row_count", "size_bytes", "schema")


class DatasetSchema(View):
    """A dataset's columns."""

    _kind = "DatasetSchema"

    def __repr__(self) -> str:
        columns = self._fields.get("columns", [])
        names = ", ".join(f"{c.name}: {c.kind}" for c in columns[:8])
        more = f", ... {len(columns) - 8} more" if len(columns) > 8 else ""
        return f"DatasetSchema({names}{more})"


class ColumnSchema(View):
    """One column: its name, inferred kind, missing count and statistics."""

    _kind = "ColumnSchema"
    _shown = ("name", "kind", "missing")


class Preview(View):
    """A dataset's first rows."""

    _kind = "Preview"
    _shown = ("columns", "rows")

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame of strings (needs pandas)."""
        import pandas  # type: ignore[import-untyped, unused-ignore]

        return pandas.DataFrame(self._fields["rows"], columns=self._fields["columns"])


class Model(View):
    """A model definition on a dataset, and its latest trained version."""

    _kind = "Model"
    _shown = ("id", "name", "target", "features", "task", "latest_version")


class ModelSummary(View):
    """Layers, output shapes and parameter counts; ``print()`` shows them like Keras."""

    _kind = "ModelSummary"
    _shown = ("input_width", "total_params", "trainable_params")

    def __str__(self) -> str:
        rule, width = "=" * 65, (29, 26, 10)
        lines = ["_" * 65, _row(("Layer (type)", "Output Shape", "Param #"), width), rule]
        for layer in self._fields["layers"]:
            shape = "(" + ", ".join("None" if d is None else str(d) for d in layer.output_shape)
            shape += ",)" if len(layer.output_shape) == 1 else ")"
            lines.append(_row((f"{layer.name} ({layer.kind})", shape, f"{layer.params:,}"), width))
        total, trainable = self._fields["total_params"], self._fields["trainable_params"]
        lines += [
            rule,
            f"Total params: {total:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
            "_" * 65,
        ]
        return "\n".join(lines)


def _row(cells: Tuple[str, ...], widths: Tuple[int, ...]) -> str:
    return " " + "".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()


class LayerSummary(View):
    """One row of a model summary."""

    _kind = "LayerSummary"


class ModelVersion(View):
    """A trained version of a model."""

    _kind = "ModelVersion"
    _shown = ("run_id", "metrics", "trained_at")


class TrainingRun(View):
    """One training of a model: its parameters, status and per-epoch history."""

    _kind = "TrainingRun"
    _shown = ("id", "model_id", "status", "history", "final_metrics", "error")

    def history_frame(self) -> Any:
        """The history as a pandas DataFrame, one row per epoch (needs pandas)."""
        import pandas  # type: ignore[import-untyped, unused-ignore]

        return pandas.DataFrame([epoch.to_dict() for epoch in self._fields["history"]])


class TrainParams(View):
    """How a run trains."""

    _kind = "TrainParams"


class EpochMetrics(View):
    """Metrics of one epoch."""

    _kind = "EpochMetrics"
    _shown = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "r2", "val_r2")

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={self._fields[name]:.4g}" if isinstance(self._fields[name], float)
            else f"{name}={self._fields[name]!r}"
            for name in self._shown
            if self._fields.get(name) is not None
        )
        return f"EpochMetrics({shown})"


class RunEvent(View):
    """A live update about a run: ``type`` is ``"epoch"`` (with ``metrics``) or ``"status"``
    (with ``status`` and, for a failure, ``error``)."""

    _kind = "RunEvent"


class Notification(View):
    """Something that happened to the user's work."""

    _kind = "Notification"
    _shown = ("id", "kind", "message", "read")


class Prediction(View):
    """One prediction: ``label`` and ``probabilities`` (classification) or ``value``."""

    _kind = "Prediction"


class Evaluation(View):
    """A model's quality on a dataset: ``metrics``, ``per_class``, ``confusion_matrix``."""

    _kind = "Evaluation"
    _shown = ("metrics",)


class ModelArchive(View):
    """A trained model as a zip archive: ``filename``, ``files`` and the bytes in ``data``."""

    _kind = "ModelArchive"
    _shown = ("filename", "files", "data")


class BackupSummary(View):
    """What a backup archive holds, as written by ``export`` or restored by ``import_``:
    counts of ``users``, ``datasets``, ``models``, ``runs``, ``epochs``, ``notifications``,
    ``blobs`` (files) and ``blob_bytes``, and ``skipped`` records whose files vanished while
    backing up."""

    _kind = "BackupSummary"
    _shown = ("users", "datasets", "models", "runs", "blobs", "blob_bytes")


_CLASSES: Dict[str, type] = {
    cls._kind: cls
    for cls in (
        User, Dataset, DatasetSchema, ColumnSchema, Preview, Model, ModelSummary, LayerSummary,
        ModelVersion, TrainingRun, TrainParams, EpochMetrics, RunEvent, Notification, Prediction,
        Evaluation, ModelArchive, BackupSummary,
    )
}
_GENERIC: Dict[str, type] = {}


def _make(kind: str, fields: Dict[str, Any]) -> View:
    """The view of Rust type ``kind`` with ``fields`` (called by the native module)."""
    cls: Optional[type] = _CLASSES.get(kind)
    if cls is None:
        cls = _GENERIC.get(kind)
        if cls is None:
            cls = type(kind, (View,), {"__slots__": (), "_kind": kind, "__module__": __name__})
            _GENERIC[kind] = cls
    return cls(fields)  # type: ignore[no-any-return]
