"""Type stubs of the native module; the view classes live in modelyard._views."""

from os import PathLike
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Union,
    final,
)

from ._views import (
    Dataset,
    Evaluation,
    Model,
    ModelArchive,
    ModelSummary,
    Notification,
    Prediction,
    Preview,
    RunEvent,
    TrainingRun,
    EpochMetrics,
    User,
)

__all__ = [
    "__version__",
    "open",
    "Modelyard",
    "Session",
    "Run",
    "RunEvents",
    "ModelyardError",
    "NotFoundError",
    "ConflictError",
    "ValidationError",
    "AuthError",
    "RateLimitedError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "UnavailableError",
    "NotSupportedError",
    "InternalError",
    "open_async",
    "AsyncModelyard",
    "AsyncSession",
    "AsyncRun",
    "AsyncRunEvents",
]
__version__: str

class ModelyardError(Exception):
    code: Optional[str]
    field: Optional[str]
    retry_after: Optional[int]

class NotFoundError(ModelyardError):
    code: str

class ConflictError(ModelyardError):
    code: str

class ValidationError(ModelyardError):
    code: str

class AuthError(ModelyardError):
    code: str

class RateLimitedError(ModelyardError):
    code: str

class PayloadTooLargeError(ModelyardError):
    code: str

class UnsupportedMediaTypeError(ModelyardError):
    code: str

class UnavailableError(ModelyardError):
    code: str

class NotSupportedError(ModelyardError):
    code: str

class InternalError(ModelyardError):
    code: str


def open(url: Optional[str] = None, **settings: Any) -> Modelyard: ...

@final
class Modelyard:
    def register(self, username: str, email: str, password: str) -> Session: ...
    def login(self, email: str, password: str) -> Session: ...
    def session(self, token: str) -> Session: ...
    def check_ready(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Modelyard: ...
    def __exit__(self, *_exc: object) -> bool: ...

@final
class Session:
    @property
    def token(self) -> str: ...
    @property
    def user(self) -> User: ...
    @property
    def expires_at(self) -> str: ...
    def me(self) -> User: ...
    def logout(self) -> None: ...
    def change_password(self, current: str, new: str) -> None: ...
    def upload_dataset(
        self,
        name: Optional[str] = None,
        *,
        path: Optional[Union[str, PathLike[str]]] = None,
        data: Optional[Union[bytes, str]] = None,
        frame: Optional[Any] = None,
    ) -> Dataset: ...
    def datasets(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> List[Dataset]: ...
    def dataset(self, dataset_id: str) -> Dataset: ...
    def preview(self, dataset_id: str, limit: int = 10) -> Preview: ...
    def delete_dataset(self, dataset_id: str) -> None: ...
    def create_model(
        self,
        name: str,
        dataset_id: str,
        target: str,
        features: Optional[Sequence[str]] = None,
        task: Optional[str] = None,
        layers: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> Model: ...
    def models(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> List[Model]: ...
    def model(self, model_id: str) -> Model: ...
    def summary(self, model_id: str) -> ModelSummary: ...
    def delete_model(self, model_id: str) -> None: ...
    def delete_run(self, run_id: str) -> None: ...
    def train(
        self,
        model_id: str,
        *,
        epochs: Optional[int] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        optimizer: Optional[str] = None,
        momentum: Optional[float] = None,
        weight_decay: Optional[float] = None,
        validation_split: Optional[float] = None,
        seed: Optional[int] = None,
        early_stopping: Optional[Union[int, Mapping[str, float]]] = None,
    ) -> Run: ...
    def runs(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> List[TrainingRun]: ...
    def run(self, run_id: str) -> Run: ...
    def predict(
        self, model_id: str, rows: Any, *, allow_missing: bool = False
    ) -> List[Prediction]: ...
    def predict_proba(self, model_id: str, rows: Any, *, allow_missing: bool = False) -> Any: ...
    def evaluate(self, model_id: str, dataset_id: str) -> Evaluation: ...
    def model_archive(self, model_id: str) -> ModelArchive: ...
    def notifications(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> List[Notification]: ...
    def mark_read(self, notification_id: str) -> Notification: ...

@final
class Run:
    @property
    def id(self) -> str: ...
    @property
    def history(self) -> List[EpochMetrics]: ...
    def history_page(
        self, *, limit: Optional[int] = None, after: Optional[int] = None
    ) -> List[EpochMetrics]: ...
    def get(self) -> TrainingRun: ...
    def status(self) -> str: ...
    def events(self) -> RunEvents: ...
    def wait(
        self,
        timeout: Optional[float] = None,
        *,
        progress: Union[bool, Callable[[RunEvent], object], None] = None,
    ) -> TrainingRun: ...
    def history_frame(self) -> Any: ...
    def cancel(self) -> TrainingRun: ...

@final
class RunEvents(Iterator[RunEvent]):
    def __iter__(self) -> RunEvents: ...
    def __next__(self) -> RunEvent: ...

# The asyncio flavour, re-exported by modelyard.aio under the sync names.

def open_async(url: Optional[str] = None, **settings: Any) -> Awaitable[AsyncModelyard]: ...

@final
class AsyncModelyard:
    def register(self, username: str, email: str, password: str) -> Awaitable[AsyncSession]: ...
    def login(self, email: str, password: str) -> Awaitable[AsyncSession]: ...
    def session(self, token: str) -> Awaitable[AsyncSession]: ...
    def check_ready(self) -> Awaitable[None]: ...
    def close(self) -> Awaitable[None]: ...
    def __aenter__(self) -> Awaitable[AsyncModelyard]: ...
    def __aexit__(self, *_exc: object) -> Awaitable[Literal[False]]: ...

@final
class AsyncSession:
    @property
    def token(self) -> str: ...
    @property
    def user(self) -> User: ...
    @property
    def expires_at(self) -> str: ...
    def me(self) -> Awaitable[User]: ...
    def logout(self) -> Awaitable[None]: ...
    def change_password(self, current: str, new: str) -> Awaitable[None]: ...
    def upload_dataset(
        self,
        name: Optional[str] = None,
        *,
        path: Optional[Union[str, PathLike[str]]] = None,
        data: Optional[Union[bytes, str]] = None,
        frame: Optional[Any] = None,
    ) -> Awaitable[Dataset]: ...
    def datasets(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Awaitable[List[Dataset]]: ...
    def dataset(self, dataset_id: str) -> Awaitable[Dataset]: ...
    def preview(self, dataset_id: str, limit: int = 10) -> Awaitable[Preview]: ...
    def delete_dataset(self, dataset_id: str) -> Awaitable[None]: ...
    def create_model(
        self,
        name: str,
        dataset_id: str,
        target: str,
        features: Optional[Sequence[str]] = None,
        task: Optional[str] = None,
        layers: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> Awaitable[Model]: ...
    def models(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Awaitable[List[Model]]: ...
    def model(self, model_id: str) -> Awaitable[Model]: ...
    def summary(self, model_id: str) -> Awaitable[ModelSummary]: ...
    def delete_model(self, model_id: str) -> Awaitable[None]: ...
    def delete_run(self, run_id: str) -> Awaitable[None]: ...
    def train(
        self,
        model_id: str,
        *,
        epochs: Optional[int] = None,
        batch_size: Optional[int] = None,
        learning_rate: Optional[float] = None,
        optimizer: Optional[str] = None,
        momentum: Optional[float] = None,
        weight_decay: Optional[float] = None,
        validation_split: Optional[float] = None,
        seed: Optional[int] = None,
        early_stopping: Optional[Union[int, Mapping[str, float]]] = None,
    ) -> Awaitable[AsyncRun]: ...
    def runs(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Awaitable[List[TrainingRun]]: ...
    def run(self, run_id: str) -> Awaitable[AsyncRun]: ...
    def predict(
        self, model_id: str, rows: Any, *, allow_missing: bool = False
    ) -> Awaitable[List[Prediction]]: ...
    def evaluate(self, model_id: str, dataset_id: str) -> Awaitable[Evaluation]: ...
    def model_archive(self, model_id: str) -> Awaitable[ModelArchive]: ...
    def notifications(
        self, *, limit: Optional[int] = None, after: Optional[str] = None
    ) -> Awaitable[List[Notification]]: ...
    def mark_read(self, notification_id: str) -> Awaitable[Notification]: ...

@final
class AsyncRun:
    @property
    def id(self) -> str: ...
    def get(self) -> Awaitable[TrainingRun]: ...
    def status(self) -> Awaitable[str]: ...
    def history(self) -> Awaitable[List[EpochMetrics]]: ...
    def history_page(
        self, *, limit: Optional[int] = None, after: Optional[int] = None
    ) -> Awaitable[List[EpochMetrics]]: ...
    def events(self) -> AsyncRunEvents: ...
    def wait(self, timeout: Optional[float] = None) -> Awaitable[TrainingRun]: ...
    def cancel(self) -> Awaitable[TrainingRun]: ...

@final
class AsyncRunEvents(AsyncIterator[RunEvent]):
    def __aiter__(self) -> AsyncRunEvents: ...
    def __anext__(self) -> Awaitable[RunEvent]: ...
