"""URLs, origins and redirects as the OAuth suite compares them.

Offline deployments: the reference PDS runs on ``http://localhost:<port>`` (``PDS_DEV_MODE``), so its issuer
and resource URLs are http. :func:`is_https_or_loopback` and :func:`same_origin` accept http and treat
``localhost`` and ``127.0.0.1`` as one host only for loopback addresses; any other host must use https.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from atcheck.checks import expect_status
from atcheck.xrpc.client import XrpcResponse

__all__ = ["LOOPBACK_HOSTS", "Redirect", "is_https_or_loopback", "origin_of", "redirect_of", "same_origin"]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def is_https_or_loopback(url: str) -> bool:
    """https, or http on a loopback host (the offline deployments atcheck stands up; see the module doc)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS)


def _loopback_normal(host: str) -> str:
    return "loopback" if host in LOOPBACK_HOSTS else host


def same_origin(a: str, b: str) -> bool:
    """Scheme, host and port equal (a missing port is the scheme's default), loopback names being one host."""
    pa, pb = urlsplit(a), urlsplit(b)
    default = {"http": 80, "https": 443}
    return (
        pa.scheme == pb.scheme
        and _loopback_normal(pa.hostname or "") == _loopback_normal(pb.hostname or "")
        and (pa.port or default.get(pa.scheme)) == (pb.port or default.get(pb.scheme))
    )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Redirect:
    """Where the authorization server sent the browser back to: the URL and its query parameters."""

    location: str
    params: dict[str, str]
    response: XrpcResponse


def redirect_of(resp: XrpcResponse) -> Redirect:
    """The redirect (302/303) back to the client that ``resp`` is, with its query parameters."""
    expect_status(resp, 302, 303)
    location = resp.headers.get("location", "")
    query = urlsplit(location).query
    params = {k: v[0] for k, v in parse_qs(query).items()}
    return Redirect(location, params, resp)
