"""An XRPC client for black-box suites: plain httpx underneath, with evidence and hard limits.

Suites talk to servers that may be broken or hostile, so every request has a timeout, every body is read
with a size cap, and a transport failure becomes a :class:`TransportFailure` that names the request instead of
a traceback from deep inside httpx. Every exchange is kept by an :class:`EvidenceRecorder`, which the pytest
plugin attaches to the test's result, so a failure in the report shows the requests that produced it.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from atcheck.failure import ConformanceFailure
from atcheck.report.model import Exchange

#: Bodies larger than this are refused: no check needs more, and a hostile server may send gigabytes.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Evidence keeps only the start of each body.
EVIDENCE_BODY_CHARS = 4096
DEFAULT_TIMEOUT_S = 30.0

ParamValue = str | int | bool | list[str] | list[int] | None


class TransportFailure(AssertionError):
    """The server could not be talked to at all (refused, reset, timed out, body too large)."""


def _decode_for_evidence(content: bytes, content_type: str) -> str:
    if not content:
        return ""
    textual = content_type.startswith(("application/json", "text/")) or content_type == ""
    if textual:
        text = content[:EVIDENCE_BODY_CHARS].decode("utf-8", errors="replace")
        more = len(content) - EVIDENCE_BODY_CHARS
        return text + (f"... [{more} more bytes]" if more > 0 else "")
    return f"[{len(content)} bytes of {content_type or 'unknown type'}]"


@dataclass
class EvidenceRecorder:
    """Collects the exchanges of one test."""

    exchanges: list[Exchange] = field(default_factory=list)
    limit: int = 50  # a long test keeps its first exchanges and a count of the rest

    dropped: int = 0

    def record(self, exchange: Exchange) -> None:
        if len(self.exchanges) < self.limit:
            self.exchanges.append(exchange)
        else:
            self.dropped += 1

    def clear(self) -> None:
        self.exchanges.clear()
        self.dropped = 0


@dataclass
class XrpcResponse:
    """A response, with the request that produced it, for messages that say where a value came from."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.url}"

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ("" when absent)."""
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON, or a ConformanceFailure saying it was not JSON."""
        try:
            return jsonlib.loads(self.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConformanceFailure(
                expected="a JSON body",
                got=f"{self.content_type or 'no content-type'}: {self.text[:200]!r} ({exc})",
                response=self,
            ) from None

    def describe(self) -> str:
        return f"{self.request_line} -> {self.status}"


class XrpcClient:
    """XRPC over HTTP against one service.

    >>> pds = XrpcClient("http://127.0.0.1:2583")
    >>> pds.query("com.atproto.server.describeServer").json()["did"]  # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        recorder: EvidenceRecorder | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        http: httpx.Client | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self.token = token
        self.recorder = recorder if recorder is not None else EvidenceRecorder()
        self.timeout_s = timeout_s
        self._http = http or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._owns_http = http is None

    def with_token(self, token: str | None) -> XrpcClient:
        """The same server and evidence, authenticated with ``token`` (a bearer JWT)."""
        return XrpcClient(
            self.base_url,
            token=token,
            recorder=self.recorder,
            timeout_s=self.timeout_s,
            http=self._http,
            max_body_bytes=self.max_body_bytes,
        )

    def with_recorder(self, recorder: EvidenceRecorder) -> XrpcClient:
        return XrpcClient(
            self.base_url,
            token=self.token,
            recorder=recorder,
            timeout_s=self.timeout_s,
            http=self._http,
            max_body_bytes=self.max_body_bytes,
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- XRPC ---------------------------------------------------------------------------------------------

    def query(
        self,
        nsid: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        repeated_headers: Sequence[tuple[str, str]] = (),
    ) -> XrpcResponse:
        """An XRPC query: ``GET /xrpc/<nsid>``."""
        return self.request(
            "GET", f"/xrpc/{nsid}", params=params, headers=headers, repeated_headers=repeated_headers
        )

    def procedure(
        self,
        nsid: str,
        json: Any = None,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, ParamValue] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> XrpcResponse:
        """An XRPC procedure: ``POST /xrpc/<nsid>`` with a JSON body, raw ``data``, or none."""
        return self.request(
            "POST",
            f"/xrpc/{nsid}",
            params=params,
            json=json,
            data=data,
            content_type=content_type,
            headers=headers,
        )

    def get(
        self,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> XrpcResponse:
        return self.request("GET", path, params=params, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        repeated_headers: Sequence[tuple[str, str]] = (),
    ) -> XrpcResponse:
        """One HTTP exchange. Transport failures become TransportFailure naming the request.

        ``repeated_headers`` are sent as header lines of their own after ``headers``, even when a name
        repeats (a test of how a server merges repeated fields); the evidence shows them comma-joined.
        """
        url = self.base_url + path
        sent_headers: dict[str, str] = {}
        if self.token:
            sent_headers["Authorization"] = f"Bearer {self.token}"
        body: bytes | None = data
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent_headers["Content-Type"] = "application/json"
        if content_type is not None:
            sent_headers["Content-Type"] = content_type
        sent_headers.update(headers or {})
        query = _encode_params(params)
        lines = [*sent_headers.items(), *repeated_headers]
        request = self._http.build_request(method, url, params=query, content=body, headers=lines)
        full_url = str(request.url)
        shown = dict(sent_headers)
        for name, value in repeated_headers:
            shown[name] = f"{shown[name]}, {value}" if name in shown else value
        exchange = Exchange(
            method=method,
            url=full_url,
            status=None,
            request_headers=shown,
            request_body=_decode_for_evidence(body or b"", sent_headers.get("Content-Type", "")),
        )
        self.recorder.record(exchange)
        try:
            response = self._http.send(request, stream=True)
            try:
                content = _read_capped(response, full_url, method, self.max_body_bytes)
            finally:
                response.close()
        except httpx.TimeoutException:
            exchange.response_body = f"[no answer within {self.timeout_s:g} s]"
            raise TransportFailure(f"{method} {full_url}: no answer within {self.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            exchange.response_body = f"[transport error: {exc}]"
            raise TransportFailure(f"{method} {full_url}: {type(exc).__name__}: {exc}") from None
        result = XrpcResponse(
            method=method,
            url=full_url,
            status=response.status_code,
            headers=response.headers,
            content=content,
        )
        exchange.status = response.status_code
        exchange.response_headers = dict(response.headers)
        exchange.response_body = _decode_for_evidence(content, result.content_type)
        return result


def _encode_params(
    params: Mapping[str, ParamValue] | None,
) -> list[tuple[str, str | int | float | bool | None]]:
    """XRPC query parameters: lists repeat the key, booleans are ``true``/``false``, None is left out."""
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            pairs.append((key, text))
    return pairs


def _read_capped(response: httpx.Response, url: str, method: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise TransportFailure(f"{method} {url}: body larger than {limit} bytes; stopped reading")
        chunks.append(chunk)
    return b"".join(chunks)
