"""The OAuth suite's client pieces on their own: DPoP proofs a server can verify, PKCE, origin rules, and
the https client host (served with a throw-away CA's certificate)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from atcheck.suite.oauth import (
    CLIENT_HOST,
    CLIENT_ZONE,
    Document,
    client_host,
    is_https_or_loopback,
    same_origin,
)
from atcheck.suite.oauth_jose import Es256Key, Pkce, access_token_hash, client_assertion, dpop_proof
from atcheck.suite.resolvers import LocalCa


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verify(jwt: str, jwk: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check an ES256 JWS against ``jwk`` (as a server would) and return its header and payload."""
    header, payload, sig = jwt.split(".")
    raw = _b64(sig)
    x, y = (int.from_bytes(_b64(jwk[k]), "big") for k in ("x", "y"))
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_b64(header)), json.loads(_b64(payload))


def test_a_dpop_proof_verifies_with_its_own_jwk_and_carries_the_claims() -> None:
    key = Es256Key()
    proof = dpop_proof(key, "POST", "https://pds.example/xrpc/x", nonce="n1", access_token="tok")
    header, payload = _verify(proof, json.loads(_b64(proof.split(".")[0]))["jwk"])
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256" and "d" not in header["jwk"]
    assert payload["htm"] == "POST" and payload["htu"] == "https://pds.example/xrpc/x"
    assert payload["nonce"] == "n1" and payload["ath"] == access_token_hash("tok")
    assert (
        dpop_proof(key, "GET", "https://a.example/")[-20:]
        != dpop_proof(key, "GET", "https://a.example/")[-20:]
    )


def test_a_client_assertion_names_the_client_and_the_issuer() -> None:
    key = Es256Key()
    header, payload = _verify(
        client_assertion(key, "https://c.example/m.json", "https://as.example"), key.public_jwk()
    )
    assert header["kid"] == key.kid
    assert (
        payload["iss"] == payload["sub"] == "https://c.example/m.json"
        and payload["aud"] == "https://as.example"
    )


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    pkce = Pkce.new()
    digest = base64.urlsafe_b64encode(hashlib.sha256(pkce.verifier.encode()).digest()).rstrip(b"=").decode()
    assert pkce.challenge == digest and 43 <= len(pkce.verifier) <= 128


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("http://localhost:2583", "http://127.0.0.1:2583/", True),
        ("https://pds.example", "https://pds.example:443", True),
        ("https://pds.example", "http://pds.example", False),
        ("http://localhost:2583", "http://localhost:2584", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(a, b) is same


@pytest.mark.parametrize(
    "url, ok",
    [("https://pds.example", True), ("http://localhost:2583", True), ("http://pds.example", False)],
)
def test_https_except_on_loopback(url: str, ok: bool) -> None:
    assert is_https_or_loopback(url) is ok


def test_the_client_host_serves_documents_over_tls_as_the_client_host_name() -> None:
    ca = LocalCa.make(CLIENT_ZONE)
    context = ssl.create_default_context(cadata=ca.ca_pem)
    with client_host(ca) as host:
        url = host.put("/m.json", Document({"client_id": "x"}))
        assert url == f"https://{CLIENT_HOST}:{host.port}/m.json"
        # The certificate names the client host; connect to 127.0.0.1 and ask for that name (SNI).
        request = f"GET /m.json HTTP/1.1\r\nHost: {CLIENT_HOST}\r\nConnection: close\r\n\r\n".encode()
        raw = socket.create_connection(("127.0.0.1", host.port), timeout=5)
        with context.wrap_socket(raw, server_hostname=CLIENT_HOST) as tls:
            tls.sendall(request)
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200") and json.loads(body) == {"client_id": "x"}
        assert host.fetches == {"/m.json": 1}
