"""Backups from Python: `yard.export`, `session.export`, `yard.import_` into another store."""

from __future__ import annotations

import asyncio
import pathlib

import pytest

import modelyard
from conftest import IRIS, PASSWORD, SECRET


def test_a_store_moves_whole_through_an_archive(
    tmp_path: pathlib.Path, yard: modelyard.Modelyard, ada: modelyard.Session,
    bob: modelyard.Session,
) -> None:
    for session in (ada, bob):
        iris = session.upload_dataset(path=IRIS)
        session.create_model("iris mlp", iris.id, "species")
    archive = tmp_path / "backup.tar"
    written = yard.export(archive)
    assert isinstance(written, modelyard.BackupSummary)
    assert (written.users, written.datasets, written.models, written.blobs) == (2, 2, 2, 2)
    assert archive.stat().st_mode & 0o777 == 0o600

    with modelyard.open(f"sled://{tmp_path / 'restored'}", jwt_secret=SECRET) as restored:
        assert restored.import_(str(archive)) == written
        moved = restored.login("ada@example.com", PASSWORD)
        assert [d.to_dict() for d in moved.datasets()] == [d.to_dict() for d in ada.datasets()]
        with pytest.raises(modelyard.ConflictError, match="already exists"):
            restored.import_(archive)


def test_one_account_exports_alone(
    tmp_path: pathlib.Path, yard: modelyard.Modelyard, ada: modelyard.Session,
    bob: modelyard.Session,
) -> None:
    ada.upload_dataset(path=IRIS)
    archive = tmp_path / "ada.tar"
    assert ada.export(archive).users == 1
    assert yard.export_account("BOB@example.com", tmp_path / "bob.tar").datasets == 0
    with pytest.raises(modelyard.NotFoundError):
        yard.export_account("nobody@example.com", tmp_path / "nobody.tar")
    with modelyard.open(f"sled://{tmp_path / 'other'}", jwt_secret=SECRET) as other:
        assert other.import_(archive).datasets == 1
        other.login("ada@example.com", PASSWORD)
        with pytest.raises(modelyard.AuthError):
            other.login("bob@example.com", PASSWORD)


def test_a_damaged_archive_is_refused_naming_it(
    tmp_path: pathlib.Path, yard: modelyard.Modelyard, ada: modelyard.Session
) -> None:
    ada.upload_dataset(path=IRIS)
    archive = tmp_path / "backup.tar"
    yard.export(archive)
    data = archive.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: len(data) // 2])
    with modelyard.open(f"sled://{tmp_path / 'empty'}", jwt_secret=SECRET) as empty:
        with pytest.raises(modelyard.ValidationError, match="truncated") as refused:
            empty.import_(cut)
        assert refused.value.field == "archive"
        with pytest.raises(modelyard.AuthError):
            empty.login("ada@example.com", PASSWORD)


def test_the_asyncio_flavour_backs_up_and_restores(tmp_path: pathlib.Path) -> None:
    async def main() -> None:
        async with modelyard.aio.open(f"sled://{tmp_path / 'a'}", jwt_secret=SECRET) as yard:
            ada = await yard.register("ada", "ada@example.com", PASSWORD)
            await ada.upload_dataset(path=IRIS)
            assert (await ada.export(tmp_path / "ada.tar")).datasets == 1
            assert (await yard.export(tmp_path / "all.tar")).users == 1
            assert (await yard.export_account("ada@example.com", tmp_path / "a2.tar")).users == 1
        async with modelyard.aio.open(f"sled://{tmp_path / 'b'}", jwt_secret=SECRET) as other:
            assert (await other.import_(tmp_path / "all.tar")).datasets == 1

    asyncio.run(main())
