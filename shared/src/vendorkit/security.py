"""Password, API-key and token hashing with constant-time comparison."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")

# Each argon2 hash or verification allocates its 19 MiB while it runs. Two
# things keep that from becoming a worker's permanent size: at most
# PASSWORD_HASH_CONCURRENCY (default 2) run at once, further logins queueing for
# a few milliseconds each; and blocks of 4 MiB and more are always mapped
# (glibc's M_MMAP_THRESHOLD), so they go back to the system when freed. By
# default glibc raises that threshold after the first such block is freed, and
# the next ones stay in per-thread arenas for good: 19 MiB per thread that ever
# hashed.
HASH_CONCURRENCY = max(1, int(os.environ.get("PASSWORD_HASH_CONCURRENCY", "2")))
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_hash_slots = threading.BoundedSemaphore(HASH_CONCURRENCY)


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def _map_large_blocks() -> None:
    """Have glibc map big allocations and unmap them on free (a no-op with other C libraries)."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def malloc_trim() -> None:
    """Return the C allocator's free memory to the system (glibc's malloc_trim; a no-op elsewhere)."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _bounded(work: Callable[[], T]) -> T:
    """Run one argon2 computation within the concurrency bound."""
    with _hash_slots:
        return work()


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    _map_large_blocks()
    # OWASP's recommended argon2id minimum (19 MiB, two passes): slow enough to
    # make offline guessing expensive, light enough for many small replicas.
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # A hash of a password nobody has, verified when an account has none, so
    # that unknown and known accounts take the same time to refuse.
    return _bounded(lambda: _hasher().hash(secrets.token_hex(16)))


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or API key (salted, slow)."""
    return _bounded(lambda: _hasher().hash(secret))


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``stored_hash``; a missing hash still costs one verification."""
    try:
        if stored_hash is None:
            dummy = _dummy_hash()
            _bounded(lambda: _hasher().verify(dummy, secret))
            return False
        return _bounded(lambda: _hasher().verify(stored_hash, secret))
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
