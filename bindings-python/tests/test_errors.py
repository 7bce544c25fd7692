import pytest

import modelyard

from conftest import PASSWORD, SECRET

MISSING = "01890000-0000-7000-8000-000000000000"


def test_every_exception_is_a_modelyard_error_with_its_code():
    expected = {
        modelyard.NotFoundError: "NOT_FOUND",
        modelyard.ConflictError: "CONFLICT",
        modelyard.ValidationError: "VALIDATION",
        modelyard.AuthError: "UNAUTHORIZED",
        modelyard.RateLimitedError: "RATE_LIMITED",
        modelyard.PayloadTooLargeError: "PAYLOAD_TOO_LARGE",
        modelyard.UnsupportedMediaTypeError: "UNSUPPORTED_MEDIA_TYPE",
        modelyard.UnavailableError: "UNAVAILABLE",
        modelyard.NotSupportedError: "NOT_SUPPORTED",
        modelyard.InternalError: "INTERNAL",
    }
    for cls, code in expected.items():
        assert issubclass(cls, modelyard.ModelyardError)
        assert cls.code == code
        assert cls.__module__ == "modelyard"


def test_an_unknown_open_setting_is_a_validation_error_naming_it(store):
    with pytest.raises(modelyard.ValidationError) as caught:
        modelyard.open(store, jwt_secret=SECRET, wokers=2)
    assert caught.value.field == "wokers"
    assert caught.value.code == "VALIDATION"
    assert "workers" in str(caught.value)


def test_a_setting_of_the_wrong_type_names_its_key(store):
    with pytest.raises(modelyard.ValidationError) as caught:
        modelyard.open(store, jwt_secret=SECRET, workers="two")
    assert caught.value.field == "workers"


def test_a_short_password_is_a_validation_error_on_password(yard):
    with pytest.raises(modelyard.ValidationError) as caught:
        yard.register("ada", "ada@example.com", "short")
    assert caught.value.field == "password"


def test_a_taken_email_is_a_conflict(yard, ada):
    with pytest.raises(modelyard.ConflictError) as caught:
        yard.register("ada2", "ADA@example.com", PASSWORD)
    assert caught.value.code == "CONFLICT"


def test_unknown_and_malformed_ids_are_not_found(ada):
    for bad in (MISSING, "not-an-id"):
        with pytest.raises(modelyard.NotFoundError):
            ada.dataset(bad)
        with pytest.raises(modelyard.NotFoundError):
            ada.model(bad)


def test_too_many_failed_logins_are_rate_limited_with_a_retry_after(store):
    with modelyard.open(store, jwt_secret=SECRET, login_max_failures=2) as yard:
        yard.register("ada", "ada@example.com", PASSWORD)
        with pytest.raises(modelyard.RateLimitedError) as caught:
            for _ in range(5):
                try:
                    yard.login("ada@example.com", "wrong passphrase!")
                except modelyard.AuthError:
                    pass
        assert caught.value.retry_after > 0
        assert caught.value.code == "RATE_LIMITED"


def test_an_upload_over_the_limit_is_payload_too_large(store):
    with modelyard.open(store, jwt_secret=SECRET, max_upload_bytes=64) as yard:
        ada = yard.register("ada", "ada@example.com", PASSWORD)
        with pytest.raises(modelyard.PayloadTooLargeError):
            ada.upload_dataset("big", data=b"a,b\n" + b"1,2\n" * 100)


def test_a_redis_cache_without_a_server_is_unavailable(tmp_path):
    with pytest.raises(modelyard.UnavailableError):
        modelyard.open(
            f"sled://{tmp_path / 'data'}", jwt_secret=SECRET, cache="redis://127.0.0.1:1/"
        )


def test_a_model_of_an_unknown_task_names_the_field(ada):
    iris = ada.upload_dataset("iris", data=b"x,y\n1,a\n2,b\n3,a\n4,b\n")
    with pytest.raises(modelyard.ValidationError) as caught:
        ada.create_model("m", iris.id, "y", task="clustering")
    assert caught.value.field == "task"


def test_deleting_a_dataset_a_model_uses_is_a_conflict(ada, iris_model):
    with pytest.raises(modelyard.ConflictError):
        ada.delete_dataset(iris_model.dataset_id)
