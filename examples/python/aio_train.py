"""modelyard.aio in an asyncio program: train while the event loop keeps serving other work.

    python examples/python/aio_train.py             # data in ./aio-data
"""

import asyncio
import pathlib
import sys

import modelyard
import modelyard.aio

IRIS = pathlib.Path(__file__).resolve().parents[1] / "data" / "iris.csv"


async def heartbeat() -> None:
    """Other work of the application: it keeps its beat while the model trains."""
    while True:
        await asyncio.sleep(0.25)
        print("  (the event loop is free)")


async def main(data_dir: str) -> None:
    async with modelyard.aio.open(f"sled://{data_dir}") as yard:
        try:
            ada = await yard.register("ada", "ada@example.com", "correct horse battery")
        except modelyard.ConflictError:
            ada = await yard.login("ada@example.com", "correct horse battery")
        iris = await ada.upload_dataset(path=IRIS)
        model = await ada.create_model("iris mlp", iris.id, target="species")
        beating = asyncio.create_task(heartbeat())
        run = await ada.train(model.id, epochs=300, batch_size=8)
        async for event in run.events():
            if event.type == "epoch" and event.metrics.epoch % 50 == 0:
                print(f"epoch {event.metrics.epoch}: loss {event.metrics.loss:.4f}")
        beating.cancel()
        print((await run.wait()).status, (await ada.evaluate(model.id, iris.id)).metrics)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "./aio-data"))
