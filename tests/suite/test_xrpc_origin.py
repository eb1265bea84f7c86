"""The XRPC-HTTP-01 verdict on a DID document's service endpoint: a bare origin is where ``/xrpc/`` is called;
an endpoint with a path (XRPC below a prefix), query or fragment fails."""

from __future__ import annotations

import pytest

from atcheck.checks import ConformanceFailure
from atcheck.suite.identity import xrpc_origin

RUN_URL = "http://127.0.0.1:2583"


@pytest.mark.parametrize(
    "endpoint, origin",
    [
        ("https://pds.example.com", "https://pds.example.com"),
        ("https://pds.example.com/", "https://pds.example.com"),
        ("http://localhost:2583", "http://127.0.0.1:2583"),
        ("http://127.0.0.1:9999", "http://127.0.0.1:9999"),
    ],
)
def test_a_bare_origin_is_where_xrpc_is_called(endpoint: str, origin: str) -> None:
    assert xrpc_origin({"serviceEndpoint": endpoint}, RUN_URL) == origin


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://host.example.com/pds",
        "https://host.example.com/xrpc",
        "https://host.example.com?x=1",
        "https://host.example.com#frag",
        "ftp://host.example.com",
        "not a url",
    ],
)
def test_an_endpoint_below_a_prefix_or_not_http_fails(endpoint: str) -> None:
    with pytest.raises(ConformanceFailure):
        xrpc_origin({"serviceEndpoint": endpoint}, RUN_URL)


def test_a_missing_endpoint_fails() -> None:
    with pytest.raises(ConformanceFailure):
        xrpc_origin({"type": "AtprotoPersonalDataServer"}, RUN_URL)
