import pytest

import modelyard

from conftest import IRIS


def test_a_path_upload_is_named_after_its_file_with_its_schema(ada):
    iris = ada.upload_dataset(path=IRIS)
    assert isinstance(iris, modelyard.Dataset)
    assert iris.name == "iris"
    assert iris.row_count == 150
    columns = {column.name: column.kind for column in iris.schema.columns}
    assert columns["sepal_length"] == "numeric"
    assert columns["species"] == "categorical"
    assert "iris" in repr(iris)


def test_bytes_upload_and_listing(ada):
    ada.upload_dataset("tiny", data=b"x,y\n1,2\n3,4\n")
    names = [dataset.name for dataset in ada.datasets()]
    assert names == ["tiny"]


def test_a_dataframe_uploads_as_csv_without_its_index(ada):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"x": [1.5, 2.5, 3.5], "label": ["a", "b", "a"]})
    dataset = ada.upload_dataset("frame", frame=frame)
    assert [column.name for column in dataset.schema.columns] == ["x", "label"]
    assert dataset.row_count == 3


def test_exactly_one_source_is_required(ada):
    with pytest.raises(modelyard.ValidationError):
        ada.upload_dataset("none")
    with pytest.raises(modelyard.ValidationError):
        ada.upload_dataset("two", path=IRIS, data=b"x\n1\n")


def test_preview_shows_the_first_rows_and_makes_a_frame(ada):
    iris = ada.upload_dataset(path=IRIS)
    preview = ada.preview(iris.id, limit=3)
    assert preview.columns[-1] == "species"
    assert len(preview.rows) == 3
    pandas = pytest.importorskip("pandas")
    assert isinstance(preview.to_frame(), pandas.DataFrame)


def test_delete_dataset_then_it_is_gone(ada):
    tiny = ada.upload_dataset("tiny", data=b"x,y\n1,2\n")
    ada.delete_dataset(tiny.id)
    with pytest.raises(modelyard.NotFoundError):
        ada.dataset(tiny.id)


def test_views_have_to_dict_of_plain_values(ada):
    iris = ada.upload_dataset(path=IRIS)
    plain = iris.to_dict()
    assert plain["name"] == "iris"
    assert isinstance(plain["schema"]["columns"][0], dict)
    assert iris.uploaded_at.tzinfo is not None
