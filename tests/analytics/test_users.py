"""Console users: bcrypt-hashed passwords, known roles, unique names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from analytics.store.reads import ConversationStore, UserExistsError
from analytics.store.schema import User


@pytest.fixture
def store(engine) -> ConversationStore:
    return ConversationStore(engine, bcrypt_rounds=4)


def test_password_is_stored_as_a_bcrypt_hash(engine, store):
    store.add_user("ana", "s3cret-pass", "agent")
    with engine.connect() as conn:
        stored = conn.execute(select(User.password_hash).where(User.username == "ana")).scalar()
    assert stored.startswith("$2b$") and "s3cret-pass" not in stored


def test_right_password_returns_the_user_and_role(store):
    created = store.add_user("ana", "s3cret-pass", "analyst")
    assert store.verify_user("ana", "s3cret-pass") == created


def test_wrong_password_is_refused(store):
    store.add_user("ana", "s3cret-pass", "agent")
    assert store.verify_user("ana", "S3cret-pass") is None


def test_unknown_user_is_refused(store):
    assert store.verify_user("nobody", "whatever") is None


def test_duplicate_username_is_refused_with_advice(store):
    store.add_user("ana", "s3cret-pass", "agent")
    with pytest.raises(UserExistsError, match="already exists; choose another username"):
        store.add_user("ana", "other-pass", "admin")


def test_unknown_role_is_refused_naming_the_valid_roles(store):
    with pytest.raises(ValueError, match="choose one of: agent, analyst, admin"):
        store.add_user("ana", "s3cret-pass", "superuser")


def test_password_longer_than_bcrypt_supports_is_refused(store):
    with pytest.raises(ValueError, match="longer than 72 bytes"):
        store.add_user("ana", "x" * 73, "agent")
