"""Lexicon schema documents put to each library's schema loader (``lexicon.valid``), grouped by LEX-FILE row.

Every row gets valid documents (a library that refuses them is wrong too) and documents that break exactly
that row's rule, each built from one valid base by one edit, so a rejection can only be about that rule. The
expected verdict is the spec's, written here by hand; ``tests/libs/test_cases_lexicon.py`` checks that
atcheck's own linter (:mod:`atcheck.schema.lint`) agrees on every case (no error for a valid one, an error of
that row for an invalid one), so the two cannot drift apart silently.

Documents are self-contained (refs are local, ``#name``, or to the document's own NSID), so a library needs no
other schema to judge them. A case's ``why`` names the edit; each disagreement lists it.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator
from typing import Any

from atcheck.libs.case import Case, Expect

NSID = "com.example.atcheck.lex"
Doc = dict[str, Any]


def _doc(defs: dict[str, Any]) -> Doc:
    return {"lexicon": 1, "id": NSID, "defs": defs}


def _record(props: dict[str, Any] | None = None, key: str = "tid") -> dict[str, Any]:
    body = {"type": "object", "properties": props if props is not None else {"text": {"type": "string"}}}
    return {"type": "record", "key": key, "record": body}


def _record_doc(props: dict[str, Any], **extra: Any) -> Doc:
    return _doc({"main": _record(props), **extra})


def _query(**fields: Any) -> Doc:
    main: dict[str, Any] = {"type": "query"}
    main.update(fields)
    return _doc({"main": main})


def _procedure(**fields: Any) -> Doc:
    main: dict[str, Any] = {"type": "procedure"}
    main.update(fields)
    return _doc({"main": main})


_JSON_OBJ = {"encoding": "application/json", "schema": {"type": "object", "properties": {}}}


def _params(props: dict[str, Any], **extra: Any) -> Doc:
    return _query(parameters={"type": "params", "properties": props, **extra}, output=_JSON_OBJ)


def _subscription(schema: dict[str, Any]) -> Doc:
    return _doc(
        {
            "main": {"type": "subscription", "message": {"schema": schema}},
            "commit": {"type": "object", "properties": {"seq": {"type": "integer"}}},
        }
    )


def _perm_set(**fields: Any) -> Doc:
    main: dict[str, Any] = {"type": "permission-set", "title": "Example access"}
    main.update(fields)
    return _doc({"main": main})


_PERM = {"type": "permission", "resource": "repo", "collection": [NSID]}
_Row = list[tuple[str, Doc, bool]]  # (why, document, valid?)


def _file_01() -> _Row:
    base = _record_doc({"text": {"type": "string"}})

    def edit(fn: Callable[[Doc], None]) -> Doc:
        doc = copy.deepcopy(base)
        fn(doc)
        return doc

    return [
        ("a minimal record document", base, True),
        ("with a description", edit(lambda d: d.update(description="A test schema.")), True),
        ("a lone object def, not main", _doc({"thing": {"type": "object", "properties": {}}}), True),
        ("lexicon: 2", edit(lambda d: d.update(lexicon=2)), False),
        ('lexicon: "1" (a string)', edit(lambda d: d.update(lexicon="1")), False),
        ("lexicon missing", edit(lambda d: d.pop("lexicon")), False),
        ("id missing", edit(lambda d: d.pop("id")), False),
        ("id not an NSID (two segments)", edit(lambda d: d.update(id="com.example")), False),
        ("id not an NSID (a space)", edit(lambda d: d.update(id="com.example.at check")), False),
        ("defs empty", edit(lambda d: d.update(defs={})), False),
        ("defs missing", edit(lambda d: d.pop("defs")), False),
        ("defs a list", edit(lambda d: d.update(defs=[d["defs"]["main"]])), False),
    ]


def _file_02() -> _Row:
    return [
        ("one record named main, with other defs", _record_doc({}, other=_JSON_OBJ["schema"]), True),
        ("a query named main", _query(output=_JSON_OBJ), True),
        ("a record not named main", _doc({"post": _record()}), False),
        ("a query not named main", _doc({"get": {"type": "query", "output": _JSON_OBJ}}), False),
        ("two primary defs (record and query)", _doc({"main": _record(), "get": {"type": "query"}}), False),
        ("a procedure not named main", _doc({"do": {"type": "procedure"}}), False),
    ]


def _file_03() -> _Row:
    obj = {"type": "object", "properties": {}}
    return [
        (
            "ref and union inside an object",
            _doc({"main": _record({"r": {"type": "ref", "ref": "#o"}}), "o": obj}),
            True,
        ),
        ("a top-level ref", _doc({"main": _record(), "o": obj, "r": {"type": "ref", "ref": "#o"}}), False),
        (
            "a top-level union",
            _doc({"main": _record(), "o": obj, "u": {"type": "union", "refs": ["#o"]}}),
            False,
        ),
        ("a top-level unknown", _doc({"main": _record(), "u": {"type": "unknown"}}), False),
        ("a top-level params", _doc({"main": _record(), "p": {"type": "params", "properties": {}}}), False),
        (
            "a top-level permission",
            _doc({"main": _record(), "p": {"type": "permission", "resource": "repo"}}),
            False,
        ),
    ]


def _file_04() -> _Row:
    def keyed(key: Any) -> Doc:
        main = _record()
        if key is None:
            main.pop("key")
        else:
            main["key"] = key
        return _doc({"main": main})

    no_body = _doc({"main": {"type": "record", "key": "tid"}})
    string_body = _doc({"main": {"type": "record", "key": "tid", "record": {"type": "string"}}})
    return [
        ("key tid", keyed("tid"), True),
        ("key nsid", keyed("nsid"), True),
        ("key any", keyed("any"), True),
        ("key literal:self", keyed("literal:self"), True),
        ("key missing", keyed(None), False),
        ("key 'uuid' (not a key type)", keyed("uuid"), False),
        ("key 'literal:' with no value", keyed("literal:"), False),
        ("key 'literal:..' (not a record key)", keyed("literal:.."), False),
        ("record body missing", no_body, False),
        ("record body a string, not an object", string_body, False),
    ]


def _file_05() -> _Row:
    obj = {"type": "object", "properties": {"n": {"type": "integer"}}}
    return [
        (
            "query with params, output, errors",
            _query(
                parameters={"type": "params", "properties": {"limit": {"type": "integer"}}},
                output=_JSON_OBJ,
                errors=[{"name": "NotFound"}],
            ),
            True,
        ),
        ("procedure with input and output", _procedure(input=_JSON_OBJ, output=_JSON_OBJ), True),
        ("output of any MIME type, no schema", _query(output={"encoding": "*/*"}), True),
        (
            "output schema a ref",
            _doc(
                {
                    "main": {
                        "type": "query",
                        "output": {"encoding": "application/json", "schema": {"type": "ref", "ref": "#o"}},
                    },
                    "o": obj,
                }
            ),
            True,
        ),
        (
            "output schema a union of refs",
            _doc(
                {
                    "main": {
                        "type": "query",
                        "output": {
                            "encoding": "application/json",
                            "schema": {"type": "union", "refs": ["#o"]},
                        },
                    },
                    "o": obj,
                }
            ),
            True,
        ),
        ("query with input", _query(input=_JSON_OBJ), False),
        ("output without encoding", _query(output={"schema": _JSON_OBJ["schema"]}), False),
        ("procedure input without encoding", _procedure(input={"schema": _JSON_OBJ["schema"]}), False),
        (
            "output schema a string",
            _query(output={"encoding": "text/plain", "schema": {"type": "string"}}),
            False,
        ),
        ("parameters an object, not params", _query(parameters={"type": "object", "properties": {}}), False),
        ("error name with a space", _query(output=_JSON_OBJ, errors=[{"name": "Not Found"}]), False),
    ]


def _file_06() -> _Row:
    return [
        ("message schema a union of refs", _subscription({"type": "union", "refs": ["#commit"]}), True),
        ("message schema an object", _subscription({"type": "object", "properties": {}}), False),
        ("message schema a ref", _subscription({"type": "ref", "ref": "#commit"}), False),
        ("message without schema", _doc({"main": {"type": "subscription", "message": {}}}), False),
    ]


def _file_07() -> _Row:
    return [
        (
            "boolean, integer, string, array of string",
            _params(
                {
                    "b": {"type": "boolean"},
                    "i": {"type": "integer"},
                    "s": {"type": "string"},
                    "a": {"type": "array", "items": {"type": "string"}},
                },
                required=["s"],
            ),
            True,
        ),
        ("an object property", _params({"o": {"type": "object", "properties": {}}}), False),
        ("a ref property", _params({"r": {"type": "ref", "ref": "#o"}}), False),
        ("a blob property", _params({"b": {"type": "blob"}}), False),
        (
            "an array of objects",
            _params({"a": {"type": "array", "items": {"type": "object", "properties": {}}}}),
            False,
        ),
        ("params with nullable", _params({"s": {"type": "string"}}, nullable=["s"]), False),
    ]


def _file_08() -> _Row:
    def prop(field: dict[str, Any]) -> Doc:
        return _record_doc({"f": field})

    return [
        ("string const", prop({"type": "string", "const": "x"}), True),
        ("integer default and enum", prop({"type": "integer", "default": 1, "enum": [1, 2]}), True),
        ("boolean default", prop({"type": "boolean", "default": False}), True),
        ("string const and default", prop({"type": "string", "const": "x", "default": "x"}), False),
        ("boolean const and default", prop({"type": "boolean", "const": True, "default": True}), False),
        ("integer default a string", prop({"type": "integer", "default": "1"}), False),
        ("string const an integer", prop({"type": "string", "const": 1}), False),
        ("boolean default a string", prop({"type": "boolean", "default": "true"}), False),
        ("integer enum with a string", prop({"type": "integer", "enum": [1, "2"]}), False),
    ]


def _file_09() -> _Row:
    obj = {"type": "object", "properties": {}}
    token = {"type": "token", "description": "a value"}

    def with_field(field: dict[str, Any], **extra: Any) -> Doc:
        return _doc({"main": _record({"f": field}), "o": obj, **extra})

    return [
        ("union of an object and the record", with_field({"type": "union", "refs": ["#o", NSID]}), True),
        ("empty open union", with_field({"type": "union", "refs": []}), True),
        ("ref to an object", with_field({"type": "ref", "ref": "#o"}), True),
        ("ref to a token", with_field({"type": "ref", "ref": "#tok"}, tok=token), False),
        ("union ref to a token", with_field({"type": "union", "refs": ["#tok"]}, tok=token), False),
        (
            "union ref to a string def",
            with_field({"type": "union", "refs": ["#s"]}, s={"type": "string"}),
            False,
        ),
        (
            "union ref to an integer def",
            with_field({"type": "union", "refs": ["#i"]}, i={"type": "integer"}),
            False,
        ),
        ("empty closed union", with_field({"type": "union", "refs": [], "closed": True}), False),
    ]


def _file_10() -> _Row:
    obj = {"type": "object", "properties": {}}

    def ref(target: str) -> Doc:
        return _doc({"main": _record({"f": {"type": "ref", "ref": target}}), "o": obj})

    return [
        ("local #o", ref("#o"), True),
        ("nsid#o of the same document", ref(f"{NSID}#o"), True),
        ("bare nsid (its main, the record)", ref(NSID), True),
        ("empty ref", ref(""), False),
        ("a lone #", ref("#"), False),
        ("unresolvable local #missing", ref("#missing"), False),
        ("unresolvable nsid#missing of the same document", ref(f"{NSID}#missing"), False),
        ("not an NSID before #", ref("com..example#o"), False),
        ("a URL, not a ref", ref("https://example.com/lex#o"), False),
    ]


def _file_11() -> _Row:
    def blob(accept: list[Any]) -> Doc:
        return _record_doc({"b": {"type": "blob", "accept": accept, "maxSize": 1000}})

    return [
        ("image/png", blob(["image/png"]), True),
        ("image/* and */*", blob(["image/*", "*/*"]), True),
        ("text/ht*", blob(["text/ht*"]), False),
        ("a bare *", blob(["*"]), False),
        ("image (no subtype)", blob(["image"]), False),
        ("*/png", blob(["*/png"]), False),
    ]


def _file_12() -> _Row:
    obj = {"type": "object", "properties": {}}
    return [
        (
            "knownValues with a full token name",
            _doc(
                {
                    "main": _record({"f": {"type": "string", "knownValues": [f"{NSID}#tok", "plain"]}}),
                    "tok": {"type": "token"},
                    "o": obj,
                }
            ),
            True,
        ),
        (
            "a token def with a description",
            _doc({"main": _record(), "tok": {"type": "token", "description": "x"}}),
            True,
        ),
        ("knownValues not a list", _record_doc({"f": {"type": "string", "knownValues": "a"}}), False),
        (
            "knownValues with an integer",
            _record_doc({"f": {"type": "string", "knownValues": ["a", 1]}}),
            False,
        ),
    ]


def _file_13() -> _Row:
    return [
        ("one repo permission", _perm_set(permissions=[_PERM]), True),
        (
            "title:lang with en and pt-BR",
            _perm_set(permissions=[_PERM], **{"title:lang": {"en": "A", "pt-BR": "B"}}),
            True,
        ),
        ("permissions missing", _perm_set(), False),
        ("permissions an object", _perm_set(permissions=_PERM), False),
        ("a permission without resource", _perm_set(permissions=[{"type": "permission"}]), False),
        ("an entry not a permission", _perm_set(permissions=[{"type": "string"}]), False),
        (
            "title:lang key not a language tag",
            _perm_set(permissions=[_PERM], **{"title:lang": {"not a tag!": "A"}}),
            False,
        ),
    ]


ROWS: dict[str, Callable[[], _Row]] = {
    "LEX-FILE-01": _file_01,
    "LEX-FILE-02": _file_02,
    "LEX-FILE-03": _file_03,
    "LEX-FILE-04": _file_04,
    "LEX-FILE-05": _file_05,
    "LEX-FILE-06": _file_06,
    "LEX-FILE-07": _file_07,
    "LEX-FILE-08": _file_08,
    "LEX-FILE-09": _file_09,
    "LEX-FILE-10": _file_10,
    "LEX-FILE-11": _file_11,
    "LEX-FILE-12": _file_12,
    "LEX-FILE-13": _file_13,
}


def _cases(row: str, make: Callable[[], _Row]) -> Iterator[Case]:
    for i, (why, doc, valid) in enumerate(make(), 1):
        yield Case(
            "lexicon.valid",
            {"document": doc},
            "accept" if valid else "reject",
            row,
            f"rule {row} #{i}",
            why=why,
            tags=(why,),
        )


def file_cases() -> list[Case]:
    """Every LEX-FILE case, row by row."""
    return [case for row, make in ROWS.items() for case in _cases(row, make)]


# -- data against a schema (lexicon.validate): the LEX-VAL rows that apply to libraries ----------------------

VAL_NSID = "com.example.atcheck.val"
MAIN_OBJ_NSID = "com.example.atcheck.valobject"  # its main is an object: referenced (and typed) by bare NSID
_CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
_BLOB = {"$type": "blob", "ref": {"$link": _CID}, "mimeType": "image/png", "size": 10}


def val_document() -> Doc:
    """One record schema with a field for each LEX-VAL rule: bytes lengths, unknown, a union, a ref."""
    return {
        "lexicon": 1,
        "id": VAL_NSID,
        "defs": {
            "main": {
                "type": "record",
                "key": "tid",
                "record": {
                    "type": "object",
                    "properties": {
                        "b": {"type": "bytes", "minLength": 2, "maxLength": 4},
                        "u": {"type": "unknown"},
                        "un": {"type": "union", "refs": ["#obj", MAIN_OBJ_NSID]},
                        "o": {"type": "ref", "ref": "#obj"},
                    },
                },
            },
            "obj": {"type": "object", "properties": {"n": {"type": "integer"}}},
        },
    }


def val_documents() -> list[Doc]:
    """The schema set of the data cases: :func:`val_document` and the object-main document its union names."""
    other = {"type": "object", "properties": {"s": {"type": "string"}}}
    return [val_document(), {"lexicon": 1, "id": MAIN_OBJ_NSID, "defs": {"main": other}}]


def _b64(size: int) -> dict[str, str]:
    """Unpadded (padding is optional, and a library that refuses one form is DM-JSON-02's, not this row's)."""
    return {"$bytes": base64.b64encode(bytes(range(size))).decode().rstrip("=")}


_ValRow = list[tuple[str, dict[str, Any], bool]]  # (why, record fields besides $type, valid?)


def _val_08() -> _ValRow:
    return [(f"bytes of {n} raw bytes (min 2, max 4)", {"b": _b64(n)}, 2 <= n <= 4) for n in (1, 2, 3, 4, 5)]


def _val_13() -> _ValRow:
    return [
        ("union variant $type nsid#obj", {"un": {"$type": f"{VAL_NSID}#obj", "n": 1}}, True),
        ("union variant a main object, $type bare NSID", {"un": {"$type": MAIN_OBJ_NSID, "s": "x"}}, True),
        ("union variant a main object, $type nsid#main", {"un": {"$type": f"{MAIN_OBJ_NSID}#main"}}, False),
        ("the record's own $type nsid#main", {"$type": f"{VAL_NSID}#main"}, False),
    ]


def _val_15() -> _ValRow:
    return [
        ("unknown an object", {"u": {"a": 1, "nested": {"b": [1, 2]}}}, True),
        ("unknown an object with a $type", {"u": {"$type": "com.example.other", "a": 1}}, True),
        ("unknown an integer", {"u": 1}, False),
        ("unknown a string", {"u": "text"}, False),
        ("unknown an array", {"u": [{"a": 1}]}, False),
        ("unknown null (not nullable)", {"u": None}, False),
        ("unknown a $link", {"u": {"$link": _CID}}, False),
        ("unknown a $bytes", {"u": {"$bytes": "AAAA"}}, False),
        ("unknown a blob", {"u": _BLOB}, False),
    ]


def _val_18() -> _ValRow:
    return [
        ("union variant with $type", {"un": {"$type": f"{VAL_NSID}#obj", "n": 1}}, True),
        ("ref to an object without $type", {"o": {"n": 1}}, True),
        ("union variant without $type", {"un": {"n": 1}}, False),
    ]


def _val_16() -> _ValRow:
    return [
        ("an extra top-level field", {"extra": "not in the schema"}, True),
        ("an extra field in a ref'd object", {"o": {"n": 1, "extra": True}}, True),
        (
            "an extra field in a union variant",
            {"un": {"$type": f"{VAL_NSID}#obj", "n": 1, "extra": [1]}},
            True,
        ),
    ]


VAL_ROWS: dict[str, Callable[[], _ValRow]] = {
    "LEX-VAL-08": _val_08,
    "LEX-VAL-13": _val_13,
    "LEX-VAL-15": _val_15,
    "LEX-VAL-16": _val_16,
    "LEX-VAL-18": _val_18,
}


def val_cases() -> list[Case]:
    """Records put to ``lexicon.validate`` against :func:`val_document`, row by row."""
    cases = []
    for row, make in VAL_ROWS.items():
        for i, (why, fields, valid) in enumerate(make(), 1):
            args = {
                "documents": val_documents(),
                "nsid": VAL_NSID,
                "def": "main",
                "value": {"$type": VAL_NSID, **fields},
            }
            expect: Expect = "accept" if valid else "reject"
            cases.append(
                Case("lexicon.validate", args, expect, row, f"rule {row} #{i}", why=why, tags=(why,))
            )
    return cases
