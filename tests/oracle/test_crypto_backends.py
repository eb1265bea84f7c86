"""Both k256 backends of the oracle (libsecp256k1 if installed, else OpenSSL) give the same verdicts."""

from __future__ import annotations

import pytest

from atcheck.oracle import crypto
from atcheck.oracle.crypto import PrivateKey, is_valid_signature


@pytest.mark.parametrize("backend", ["default", "openssl"])
def test_k256_verdicts_do_not_depend_on_the_backend(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "openssl":
        monkeypatch.setattr(crypto, "_coincurve", None)
    crypto._verifier.cache_clear()
    try:
        key, other = PrivateKey.generate("k256"), PrivateKey.generate("k256")
        message = b"an unsigned commit"
        good = key.sign(message)
        assert is_valid_signature(key.public, message, good)
        assert not is_valid_signature(key.public, message + b"!", good)
        assert not is_valid_signature(other.public, message, good)
        assert not is_valid_signature(key.public, message, key.sign(message, low_s=False))  # high-S
        assert not is_valid_signature(key.public, message, good[:32] + bytes(32))
    finally:
        crypto._verifier.cache_clear()
