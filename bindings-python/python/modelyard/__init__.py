"""Modelyard from Python: accounts, datasets, models and training runs on one local or shared
store.

>>> import modelyard
>>> with modelyard.open("sled://./modelyard-data") as yard:
...     session = yard.register("ada", "ada@example.com", "correct horse battery")
...     iris = session.upload_dataset(path="examples/data/iris.csv")
...     model = session.create_model("iris mlp", iris.id, "species")
...     run = session.train(model.id, epochs=50)
...     finished = run.wait()

Everything a call returns is a read-only view (``Dataset``, ``Model``, ``TrainingRun``...) with
snake_case attributes, a readable ``repr`` and ``to_dict()``; ids are strings. Errors are
``ModelyardError`` subclasses carrying ``.code``. ``modelyard.aio`` has the same API as
coroutines, for asyncio programs.
"""

from . import _native, _views, aio
from ._native import (
    AuthError,
    ConflictError,
    InternalError,
    Modelyard,
    ModelyardError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    RateLimitedError,
    Run,
    RunEvents,
    Session,
    UnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
    __version__,
    open,
)
from ._views import (
    ColumnSchema,
    Dataset,
    DatasetSchema,
    EpochMetrics,
    Evaluation,
    LayerSummary,
    Model,
    ModelArchive,
    ModelSummary,
    ModelVersion,
    Notification,
    Prediction,
    Preview,
    RunEvent,
    TrainingRun,
    TrainParams,
    User,
    View,
)

# One list per layer: the native module's names and the views' names, as each module declares.
__all__ = _native.__all__ + _views.__all__
