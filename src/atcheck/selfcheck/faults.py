"""What a fault is, how the catalogue registers one, and the helpers faults share to rewrite protocol data.

A :class:`Fault` is one small, documented defect a server could have: its docstring says what it breaks and
which rule that violates. It declares the role of the service it sits in front of (``pds``, ``plc``,
``labeler``, ``relay``), its category, and the suite areas that should catch it (only those run while it is
applied, to keep a selfcheck affordable). A fault that no test catches on purpose carries ``survives``: the
written reason (a rule the suites cannot observe over the wire, or one the reference never exercises).

Faults that rewrite signed or content-addressed data do it the way a buggy server would: re-encode the
DAG-CBOR, recompute the CID of what changed and every CID pointing at it, keep CAR lengths consistent, so
that the defect, not a parse error, is what a test has to catch.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atcheck.oracle.car import read_car, write_car
from atcheck.oracle.cbor import decode_prefix, decode_strict, encode
from atcheck.oracle.cid import CID, compute_cid, parse_cid
from atcheck.oracle.crypto import PrivateKey
from atcheck.selfcheck.proxy import Exchange, StreamContext

__all__ = [
    "CATEGORIES",
    "FAULTS",
    "Fault",
    "frame_fault",
    "request_fault",
    "response_fault",
    "subscribe_fault",
]

#: The categories of the catalogue, in the order the matrix lists them.
CATEGORIES = (
    "xrpc",
    "auth",
    "records",
    "lists",
    "car",
    "signatures",
    "revs",
    "firehose",
    "identity",
    "blobs",
    "labels",
    "takedowns",
)

RequestHook = Callable[[Exchange], bool]
ResponseHook = Callable[[Exchange], bool]
FrameHook = Callable[[StreamContext, bytes], list[bytes] | None]
SubscribeHook = Callable[[StreamContext], str | None]


@dataclass(frozen=True)
class Fault:
    """One defect: hooks that return True (or a changed value) when they changed something."""

    name: str
    category: str
    role: str
    areas: tuple[str, ...]
    doc: str
    on_request: RequestHook | None = None
    on_response: ResponseHook | None = None
    on_frame: FrameHook | None = None
    on_subscribe: SubscribeHook | None = None
    survives: str | None = None  # why no test can catch it, when that is expected


#: The catalogue, by name, in registration order (see :mod:`atcheck.selfcheck.catalogue`).
FAULTS: dict[str, Fault] = {}


def _register(fault: Fault) -> None:
    if fault.category not in CATEGORIES:
        raise ValueError(f"fault {fault.name}: unknown category {fault.category!r}")
    if fault.name in FAULTS:
        raise ValueError(f"fault {fault.name} registered twice")
    FAULTS[fault.name] = fault


def _doc(function: Callable[..., Any]) -> str:
    return " ".join((function.__doc__ or "").split())


def response_fault(
    name: str, category: str, role: str, areas: tuple[str, ...], survives: str | None = None
) -> Callable[[ResponseHook], ResponseHook]:
    """Register ``function(exchange) -> bool``, applied to every answer of the service."""

    def register(function: ResponseHook) -> ResponseHook:
        _register(Fault(name, category, role, areas, _doc(function), on_response=function, survives=survives))
        return function

    return register


def request_fault(
    name: str, category: str, role: str, areas: tuple[str, ...], survives: str | None = None
) -> Callable[[RequestHook], RequestHook]:
    """Register ``function(exchange) -> bool``, applied to every request before it is forwarded (setting
    ``exchange.status`` answers it without forwarding)."""

    def register(function: RequestHook) -> RequestHook:
        _register(Fault(name, category, role, areas, _doc(function), on_request=function, survives=survives))
        return function

    return register


def frame_fault(
    name: str, category: str, role: str, areas: tuple[str, ...], survives: str | None = None
) -> Callable[[FrameHook], FrameHook]:
    """Register ``function(stream, frame) -> frames | None``: the frames to send instead (None: unchanged)."""

    def register(function: FrameHook) -> FrameHook:
        _register(Fault(name, category, role, areas, _doc(function), on_frame=function, survives=survives))
        return function

    return register


def subscribe_fault(
    name: str, category: str, role: str, areas: tuple[str, ...], survives: str | None = None
) -> Callable[[SubscribeHook], SubscribeHook]:
    """Register ``function(stream) -> path?query | None``: what the proxy subscribes to at the service."""

    def register(function: SubscribeHook) -> SubscribeHook:
        _register(
            Fault(name, category, role, areas, _doc(function), on_subscribe=function, survives=survives)
        )
        return function

    return register


# -- helpers ------------------------------------------------------------------------------------------------


def rename_error(ex: Exchange, was: str, now: str) -> bool:
    """Give an XRPC error body named ``was`` the name ``now`` (a server that says the wrong reason); True
    when it did."""
    body = ex.json()
    if isinstance(body, dict) and body.get("error") == was:
        body["error"] = now
        ex.set_json(body)
        return True
    return False


def other_cid(text: str) -> str:
    """A well-formed CID of the same codec as ``text`` that addresses other bytes."""
    try:
        codec = parse_cid(text).codec
    except Exception:
        codec = 0x71
    return str(compute_cid(b"atcheck selfcheck: not the addressed bytes " + text.encode(), codec))


def lower_tid(tid: str) -> str:
    """A syntactically valid TID that sorts before ``tid`` (its first timestamp character stepped down)."""
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    for i, char in enumerate(tid[:11]):
        at = alphabet.find(char)
        if at > 0 and (i > 0 or at <= 15):
            return tid[:i] + alphabet[at - 1] + tid[i + 1 :]
    return tid


def higher_tid(tid: str) -> str:
    """A syntactically valid TID that sorts after ``tid`` (a timestamp character stepped up)."""
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    for i in range(10, 0, -1):
        at = alphabet.find(tid[i])
        if 0 <= at < len(alphabet) - 1:
            return tid[:i] + alphabet[at + 1] + tid[i + 1 :]
    return tid


def nfc_strings(value: Any) -> Any:
    """``value`` with every string NFC-normalised (a server that "cleans" text)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: nfc_strings(v) for k, v in value.items()}
    return value


def split_frame(data: bytes) -> tuple[dict[str, Any], Any]:
    """An event-stream frame's header and body (two DAG-CBOR objects back to back)."""
    header, end = decode_prefix(data, 0)
    body = decode_strict(data[end:])
    return header, body


def join_frame(header: dict[str, Any], body: Any) -> bytes:
    return encode(header) + encode(body)


def commit_blocks(car_bytes: bytes) -> tuple[CID, dict[CID, bytes], list[CID]]:
    """The root, blocks and block order of a CAR whose root is a signed commit."""
    car = read_car(car_bytes)
    return car.roots[0], dict(car.blocks), list(car.order)


def rewrite_commit(car_bytes: bytes, change: Callable[[dict[str, Any]], None]) -> tuple[bytes, CID, CID]:
    """Apply ``change`` to the CAR's root commit, re-encode it, and re-address it (root and block).

    Returns the new CAR, the old and the new commit CID.
    """
    root, blocks, order = commit_blocks(car_bytes)
    commit = decode_strict(blocks[root])
    change(commit)
    data = encode(commit)
    new_root = compute_cid(data)
    rebuilt = [(new_root, data) if cid == root else (cid, blocks[cid]) for cid in order]
    return write_car([new_root], rebuilt), root, new_root


#: A key no DID document names: a commit signed with it is signed, but by the wrong key.
STRANGER_KEY = PrivateKey.generate("k256")


def resign(commit: dict[str, Any]) -> None:
    """Sign ``commit`` with :data:`STRANGER_KEY`, over the unsigned commit's DAG-CBOR (as the spec says)."""
    unsigned = {k: v for k, v in commit.items() if k != "sig"}
    commit["sig"] = STRANGER_KEY.sign(encode(unsigned))


def flip_bit(data: bytes, at: int = -1) -> bytes:
    """``data`` with one bit of byte ``at`` flipped (same length)."""
    if not data:
        return data
    pos = at % len(data)
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1 :]
