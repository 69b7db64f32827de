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


def test_concurrent_hashing_is_bounded(monkeypatch):
    import threading
    import time

    from vendorkit import security

    running, most = 0, 0
    lock = threading.Lock()

    class SlowHasher:
        def hash(self, secret):
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return f"hashed:{secret}"

        def verify(self, stored, secret):
            self.hash(secret)
            return stored == f"hashed:{secret}"

    monkeypatch.setattr(security, "_hasher", lambda: SlowHasher())
    results: list[object] = []
    threads = [threading.Thread(target=lambda n=n: results.append(hash_secret(f"pw{n}"))) for n in range(4)]
    threads += [
        threading.Thread(target=lambda: results.append(verify_secret("hashed:pw", "pw"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, results)) == sorted([*(f"hashed:pw{n}" for n in range(4)), *["True"] * 4])
    assert most == security.HASH_CONCURRENCY == 2
