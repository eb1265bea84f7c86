"""atcheck's harness for the Python AT Protocol SDK (`atproto` on PyPI), speaking atcheck's library protocol.

JSON lines on stdin/stdout (see src/atcheck/libs/PROTOCOL.md). Each op calls the SDK's own routine and
reports what it says; where the SDK has no routine for an op (MST, signing, CIDs of raw bytes), the answer is
"unsupported", never a stand-in of ours.

- syntax.valid: the SDK's string formats (atproto_client.models.string_formats) through pydantic with
  strict_string_format=True, as the SDK's models validate them; at-identifier is its AtIdentifier type.
- cbor.*: atproto_core.cbor, which delegates to libipld. libipld's Python data model has no CID type: a link
  decodes to the CID's bytes, and the encoder writes any bytes value that parses as a CID as a tag-42 link.
  The harness maps between that model and atcheck's JSON form by the same rule (bytes that parse as a CID
  are a $link), so what atcheck sees is exactly what a program using the SDK gets.
- cid.of-record: the SDK has no routine that hashes a record; unsupported.
- crypto.verify: atproto_crypto.verify.verify_signature (the SDK's low-S check included).
- lexicon.valid: atproto_lexicon.parser.lexicon_parse, the pydantic models the SDK's code generator reads
  Lexicon documents with. The SDK has no routine that validates data against a schema: lexicon.validate is
  unsupported.
- lexicon.authority, lexicon.resolve: the SDK has no Lexicon resolver (it has only the client model of
  com.atproto.lexicon.resolveLexicon, a call to a server); unsupported.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import traceback
from collections.abc import Callable
from importlib import metadata
from typing import Any

try:
    import libipld
    from atproto_client.models import string_formats as sf
    from atproto_core.cbor import decode_dag
    from atproto_crypto.verify import verify_signature
    from atproto_lexicon.parser import lexicon_parse
    from pydantic import TypeAdapter
except Exception as exc:
    IMPORT_ERROR: str | None = f"{type(exc).__name__}: {exc}"
else:
    IMPORT_ERROR = None

STRICT = {"strict_string_format": True}


class Unsupported(Exception):
    pass


def _adapters() -> dict[str, Any]:
    return {
        "handle": TypeAdapter(sf.Handle),
        "did": TypeAdapter(sf.Did),
        "nsid": TypeAdapter(sf.Nsid),
        "tid": TypeAdapter(sf.Tid),
        "record-key": TypeAdapter(sf.RecordKey),
        "at-uri": TypeAdapter(sf.AtUri),
        "datetime": TypeAdapter(sf.DateTime),
        "language": TypeAdapter(sf.Language),
        "cid": TypeAdapter(sf.Cid),
        "at-identifier": TypeAdapter(sf.AtIdentifier),
        "uri": TypeAdapter(sf.Uri),
    }


def syntax_valid(args: dict[str, Any]) -> bool:
    adapter = ADAPTERS.get(args["kind"])
    if adapter is None:
        raise Unsupported()
    adapter.validate_python(args["value"], context=STRICT)
    return True


def from_json(value: Any) -> Any:
    """atcheck's JSON form -> the Python values libipld encodes (a link is its CID's bytes)."""
    if isinstance(value, dict):
        if set(value) == {"$link"} and isinstance(value["$link"], str):
            return _cid_bytes(value["$link"])
        if set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
            return base64.b64decode(value["$bytes"] + "=" * (-len(value["$bytes"]) % 4), validate=True)
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, float):
        # atcheck's JSON says 123.0 for a JSON number written so; JSON has one number type, and the data
        # model's integer 123 is what it denotes (as the interop vectors say): only a fraction is a float.
        if value.is_integer():
            return int(value)
        raise ValueError("floats are not in the data model")
    return value


def _cid_bytes(text: str) -> bytes:
    # libipld encodes a bytes value that parses as a CID as a link: the CID in binary, from its string.
    info = libipld.decode_cid(text)
    digest = info["hash"]["digest"]
    head = _varint(info["version"]) + _varint(info["codec"]) + _varint(info["hash"]["code"])
    return head + _varint(len(digest)) + digest


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return {"$link": libipld.encode_cid(value)}
        except ValueError:
            return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, float):
        return {"$float": repr(value)}  # not data-model JSON: atcheck sees the float and says so
    return value


def cbor_encode(args: dict[str, Any]) -> str:
    return base64.b64encode(libipld.encode_dag_cbor(from_json(args["json"]))).decode()


def cbor_decode(args: dict[str, Any]) -> Any:
    return to_json(decode_dag(base64.b64decode(args["bytes_b64"])))


def crypto_verify(args: dict[str, Any]) -> bool:
    return bool(
        verify_signature(
            args["did_key"], base64.b64decode(args["message_b64"]), base64.b64decode(args["signature_b64"])
        )
    )


def lexicon_valid(args: dict[str, Any]) -> bool:
    lexicon_parse(args["document"])
    return True


def unsupported(args: dict[str, Any]) -> Any:
    raise Unsupported()


OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "syntax.valid": syntax_valid,
    "cbor.encode": cbor_encode,
    "cbor.decode": cbor_decode,
    "crypto.verify": crypto_verify,
    "lexicon.valid": lexicon_valid,
}
ADAPTERS: dict[str, Any] = {}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    rid = request.get("id")
    op = OPS.get(str(request.get("op")))
    if op is None:
        return {"id": rid, "unsupported": True}
    try:
        return {"id": rid, "result": op(request.get("args") or {})}
    except Unsupported:
        return {"id": rid, "unsupported": True}
    except RecursionError:
        return {"id": rid, "error": "RecursionError"}
    except Exception as exc:
        return {"id": rid, "error": f"{type(exc).__name__}: {exc}"[:500]}


def implementation() -> dict[str, Any]:
    libraries = {}
    for name in ("atproto", "libipld", "pydantic", "cryptography"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            libraries[name] = metadata.version(name)
    return {
        "name": "lib-python",
        "language": "python",
        "version": libraries.get("atproto", "unknown"),
        "libraries": libraries,
    }


def main() -> int:
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:
            print(f"lib-python harness: not JSON: {line[:200]!r}", file=sys.stderr)
            continue
        if request.get("cmd") == "start":
            if IMPORT_ERROR:
                reply: dict[str, Any] = {"ready": False, "reason": f"the SDK does not import: {IMPORT_ERROR}"}
            else:
                ADAPTERS.update(_adapters())
                reply = {"ready": True, "implementation": implementation()}
        elif request.get("cmd") == "stop":
            return 0
        else:
            try:
                reply = answer(request)
            except Exception:
                traceback.print_exc()
                reply = {"id": request.get("id"), "error": "harness bug (see the target's log)"}
        try:
            out.write(json.dumps(reply) + "\n")
        except (TypeError, ValueError) as exc:
            out.write(json.dumps({"id": request.get("id"), "error": f"unserialisable result: {exc}"}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
