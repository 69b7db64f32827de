"""Hashing of passwords, API keys and tokens."""

from vendorkit.security import constant_time_equals, hash_secret, hash_token, new_token, verify_secret


def test_secrets_are_salted_argon2id_hashes():
    first, second = hash_secret("admin-demo"), hash_secret("admin-demo")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert "admin-demo" not in first
    assert verify_secret(first, "admin-demo")
    assert not verify_secret(first, "admin-demo ")
    assert not verify_secret(first, "")


def test_a_missing_or_broken_hash_never_verifies():
    assert not verify_secret(None, "anything")
    assert not verify_secret("not-a-hash", "anything")


def test_tokens_are_random_and_stored_as_digests():
    token = new_token()
    assert len(token) == 64 and token != new_token()
    digest = hash_token(token)
    assert len(digest) == 64 and digest != token and digest == hash_token(token)


def test_constant_time_equals():
    assert constant_time_equals("abc", "abc")
    assert constant_time_equals(b"abc", "abc")
    assert not constant_time_equals("abc", "abd")
