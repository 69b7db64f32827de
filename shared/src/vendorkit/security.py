"""Password, API-key and token hashing with constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    # OWASP's recommended argon2id minimum (19 MiB, two passes): slow enough to
    # make offline guessing expensive, light enough for many small replicas.
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # A hash of a password nobody has, verified when an account has none, so
    # that unknown and known accounts take the same time to refuse.
    return _hasher().hash(secrets.token_hex(16))


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or API key (salted, slow)."""
    return _hasher().hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``stored_hash``; a missing hash still costs one verification."""
    try:
        if stored_hash is None:
            _hasher().verify(_dummy_hash(), secret)
            return False
        return _hasher().verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_token(nbytes: int = 32) -> str:
    """A random token of ``2 * nbytes`` hex characters."""
    return secrets.token_hex(nbytes)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a random token is stored.

    Tokens carry at least 128 random bits, so a fast hash is enough: nobody can
    guess one from its digest, and a stolen table holds no usable token.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets in time independent of where they differ."""
    if isinstance(a, str):
        a = a.encode("utf-8")
    if isinstance(b, str):
        b = b.encode("utf-8")
    return hmac.compare_digest(a, b)
