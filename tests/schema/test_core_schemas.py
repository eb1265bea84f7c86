"""The hand-written core schemas accept well-formed examples and reject each kind of malformed one."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from atcheck.schema.core import CORE, core_errors, core_schema

CID = "bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq"
DIDKEY = "did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"
COMMIT = {
    "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "version": 3,
    "data": {"$link": CID},
    "rev": "3kznmn7xqxl22",
    "prev": None,
    "sig": {"$bytes": "c2lnbmF0dXJl"},
}
MST = {
    "l": None,
    "e": [{"p": 0, "k": {"$bytes": "YXBwLmJza3kuZmVlZC5wb3N0LzNr"}, "v": {"$link": CID}, "t": None}],
}
DIDDOC = {
    "@context": ["https://www.w3.org/ns/did/v1"],
    "id": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "alsoKnownAs": ["at://alice.test"],
    "verificationMethod": [
        {
            "id": "did:plc:ewvi7nxzyoun6zhxrhs64oiz#atproto",
            "type": "Multikey",
            "controller": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
            "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF",
        }
    ],
    "service": [
        {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://pds.test"}
    ],
}
GENESIS = {
    "type": "plc_operation",
    "rotationKeys": [DIDKEY],
    "verificationMethods": {"atproto": DIDKEY},
    "alsoKnownAs": ["at://alice.test"],
    "services": {"atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": "https://pds.test"}},
    "prev": None,
    "sig": "abc_-XYZ",
}
LABEL = {
    "ver": 1,
    "src": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "uri": "at://did:plc:abc/app.bsky.feed.post/3k",
    "val": "spam",
    "cts": "2024-01-01T00:00:00.000Z",
    "sig": {"$bytes": "c2ln"},
}
JWT = {
    "header": {"alg": "ES256K", "typ": "JWT"},
    "claims": {
        "iss": "did:plc:abc",
        "aud": "did:web:api.test#bsky_appview",
        "exp": 1700000060,
        "iat": 1700000000,
        "lxm": "app.bsky.feed.getTimeline",
        "jti": "n1",
    },
}

VALID: dict[str, Any] = {
    "commit": COMMIT,
    "mst-node": MST,
    "firehose-frame": {"op": 1, "t": "#commit"},
    "did-document": DIDDOC,
    "plc-operation": GENESIS,
    "label": LABEL,
    "service-auth-jwt": JWT,
}


@pytest.mark.parametrize("name", CORE)
def test_schema_is_valid_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(core_schema(name))


@pytest.mark.parametrize("name", CORE)
def test_example_is_valid(name: str) -> None:
    assert core_errors(VALID[name], name) == []


def _edit(name: str, change: Any) -> Any:
    value = copy.deepcopy(VALID[name])
    change(value)
    return value


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("commit", lambda v: v.update(version=2)),
        ("commit", lambda v: v.pop("prev")),
        ("commit", lambda v: v.update(rev="3kzn-mn7")),
        ("commit", lambda v: v.update(data={"$link": CID, "extra": 1})),
        ("mst-node", lambda v: v.pop("l")),
        ("mst-node", lambda v: v["e"][0].pop("t")),
        ("mst-node", lambda v: v["e"][0].update(p=-1)),
        ("firehose-frame", lambda v: v.update(op=2)),
        ("firehose-frame", lambda v: v.pop("t")),
        ("did-document", lambda v: v.update(id="not-a-did")),
        ("did-document", lambda v: v["service"][0].update(serviceEndpoint="https://pds.test/path")),
        ("did-document", lambda v: v["verificationMethod"][0].pop("publicKeyMultibase")),
        ("plc-operation", lambda v: v.pop("prev")),
        ("plc-operation", lambda v: v.update(extra=1)),
        ("plc-operation", lambda v: v.update(rotationKeys=[DIDKEY] * 2)),
        ("plc-operation", lambda v: v.update(rotationKeys=[])),
        ("plc-operation", lambda v: v.update(sig="abc=")),
        ("label", lambda v: v.update(ver=2)),
        ("label", lambda v: v.update(val="x" * 129)),
        ("label", lambda v: v.update(cts="yesterday")),
        ("service-auth-jwt", lambda v: v["header"].update(alg="HS256")),
        ("service-auth-jwt", lambda v: v["claims"].pop("exp")),
        ("service-auth-jwt", lambda v: v["claims"].update(lxm="not an nsid")),
    ],
)
def test_malformed_is_rejected(name: str, change: Any) -> None:
    assert core_errors(_edit(name, change), name)


def test_tombstone_and_firehose_error() -> None:
    assert core_errors({"type": "plc_tombstone", "prev": CID, "sig": "abc"}, "plc-operation") == []
    assert core_errors({"type": "plc_tombstone", "prev": None, "sig": "abc"}, "plc-operation")
    assert core_errors({"op": -1}, "firehose-frame") == []
    assert core_errors({"error": "FutureCursor"}, "firehose-frame", "errorPayload") == []
    assert core_errors({"message": "x"}, "firehose-frame", "errorPayload")
