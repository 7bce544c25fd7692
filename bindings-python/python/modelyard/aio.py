"""Modelyard for asyncio: the same API as ``modelyard``, every call a coroutine.

>>> import modelyard.aio
>>> async def main() -> None:
...     async with modelyard.aio.open("sled://./modelyard-data") as yard:
...         session = await yard.login("ada@example.com", "correct horse battery")
...         run = await session.train(model_id, epochs=50)
...         async for event in run.events():
...             print(event)

``yard = await modelyard.aio.open(...)`` works too (then ``await yard.close()``). Calls run on
the library's own runtime, never on the event loop's thread: a FastAPI handler can ``await``
training, uploads and predictions without blocking its loop. Cancelling the awaiting task drops
the call (a run keeps training; ``run.cancel()`` stops it).
"""

from __future__ import annotations

from typing import Any, Generator, Optional

from ._native import (
    AsyncModelyard as Modelyard,
    AsyncRun as Run,
    AsyncRunEvents as RunEvents,
    AsyncSession as Session,
    open_async,
)

__all__ = ["open", "Opening", "Modelyard", "Session", "Run", "RunEvents"]


def open(url: Optional[str] = None, **settings: Any) -> Opening:
    """Opens a store, as ``modelyard.open`` does, without blocking the event loop: await the
    result, or use it as ``async with``, which closes the yard at the end of the block. The
    settings are checked when it is awaited."""
    return Opening(url, settings)


class Opening:
    """An open in progress: awaitable (giving the ``Modelyard``) and an async context manager
    (closing it on exit)."""

    def __init__(self, url: Optional[str], settings: dict[str, Any]) -> None:
        self._url = url
        self._settings = settings
        self._yard: Optional[Modelyard] = None

    async def _open(self) -> Modelyard:
        return await open_async(self._url, **self._settings)

    def __await__(self) -> Generator[Any, None, Modelyard]:
        return self._open().__await__()

    async def __aenter__(self) -> Modelyard:
        self._yard = await self._open()
        return self._yard

    async def __aexit__(self, *_exc: object) -> bool:
        if self._yard is not None:
            await self._yard.close()
        return False
