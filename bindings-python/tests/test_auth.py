import pickle

import pytest

import modelyard

from conftest import PASSWORD, SECRET


def test_register_returns_a_signed_in_session_for_the_new_user(yard):
    ada = yard.register("ada", "ada@example.com", PASSWORD)
    assert isinstance(ada.user, modelyard.User)
    assert ada.user.username == "ada"
    assert ada.me().email == "ada@example.com"
    assert isinstance(ada.user.id, str)


def test_login_with_the_right_password_and_not_with_a_wrong_one(yard):
    yard.register("ada", "ada@example.com", PASSWORD)
    assert yard.login("ada@example.com", PASSWORD).user.username == "ada"
    with pytest.raises(modelyard.AuthError) as caught:
        yard.login("ada@example.com", "not the passphrase")
    assert caught.value.code == "UNAUTHORIZED"


def test_a_logged_out_session_is_refused(ada):
    ada.logout()
    with pytest.raises(modelyard.AuthError):
        ada.datasets()


def test_a_token_opens_the_same_session(yard, ada):
    again = yard.session(ada.token)
    assert again.user.id == ada.user.id


def test_handles_refuse_pickling_and_views_allow_it(yard, ada):
    with pytest.raises(TypeError, match="live handle"):
        pickle.dumps(ada)
    with pytest.raises(TypeError, match="live handle"):
        pickle.dumps(yard)
    assert pickle.loads(pickle.dumps(ada.user)) == ada.user


def test_the_context_manager_closes_and_the_store_reopens_in_the_same_process(store):
    with modelyard.open(store, jwt_secret=SECRET) as yard:
        yard.register("ada", "ada@example.com", PASSWORD)
    with modelyard.open(store, jwt_secret=SECRET) as yard:
        assert yard.login("ada@example.com", PASSWORD).user.username == "ada"


def test_two_open_yards_of_one_directory_share_it(store):
    with modelyard.open(store, jwt_secret=SECRET) as first:
        with modelyard.open(store, jwt_secret=SECRET) as second:
            first.register("ada", "ada@example.com", PASSWORD)
            assert second.login("ada@example.com", PASSWORD).user.username == "ada"
