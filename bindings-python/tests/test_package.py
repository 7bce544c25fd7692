import modelyard
import modelyard.aio


def test_every_exported_name_exists_and_the_asyncio_classes_live_in_aio():
    assert all(hasattr(modelyard, name) for name in modelyard.__all__)
    assert not any(name.startswith("Async") for name in modelyard.__all__)
    assert all(hasattr(modelyard.aio, name) for name in modelyard.aio.__all__)
    assert modelyard.aio.Session.__name__ == "AsyncSession"
