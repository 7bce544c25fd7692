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
    AuthError as AuthError,
    ConflictError as ConflictError,
    InternalError as InternalError,
    Modelyard as Modelyard,
    ModelyardError as ModelyardError,
    NotFoundError as NotFoundError,
    NotSupportedError as NotSupportedError,
    PayloadTooLargeError as PayloadTooLargeError,
    RateLimitedError as RateLimitedError,
    Run as Run,
    RunEvents as RunEvents,
    Session as Session,
    UnavailableError as UnavailableError,
    UnsupportedMediaTypeError as UnsupportedMediaTypeError,
    ValidationError as ValidationError,
    __version__ as __version__,
    open as open,
)
from ._views import (
    BackupSummary as BackupSummary,
    ColumnSchema as ColumnSchema,
    Dataset as Dataset,
    DatasetSchema as DatasetSchema,
    EpochMetrics as EpochMetrics,
    Evaluation as Evaluation,
    LayerSummary as LayerSummary,
    Model as Model,
    ModelArchive as ModelArchive,
    ModelSummary as ModelSummary,
    ModelVersion as ModelVersion,
    Notification as Notification,
    Prediction as Prediction,
    Preview as Preview,
    RunEvent as RunEvent,
    TrainingRun as TrainingRun,
    TrainParams as TrainParams,
    User as User,
    View as View,
)

# The imports above re-export each name explicitly (`X as X`, for type checkers). `import *`
# takes the views' list and the native module's, less its asyncio classes (`modelyard.aio`'s).
__all__ = ["aio", *(name for name in _native.__all__ if name in globals()), *_views.__all__]
