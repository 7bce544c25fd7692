import pytest

import modelyard


def test_user_b_sees_none_of_user_a_work(ada, bob, iris_model):
    run = ada.train(iris_model.id, epochs=2)
    run.wait()
    assert bob.datasets() == [] and bob.models() == [] and bob.runs() == []
    assert bob.notifications() == []
    with pytest.raises(modelyard.NotFoundError):
        bob.dataset(iris_model.dataset_id)
    with pytest.raises(modelyard.NotFoundError):
        bob.model(iris_model.id)
    with pytest.raises(modelyard.NotFoundError):
        bob.run(run.id)
    with pytest.raises(modelyard.NotFoundError):
        bob.predict(iris_model.id, [{"sepal_length": 1.0}])
    with pytest.raises(modelyard.NotFoundError):
        bob.delete_model(iris_model.id)
    assert ada.model(iris_model.id).name == "iris mlp"
