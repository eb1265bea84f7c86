"""The syntax / validate records / schema lint|diff|build commands: verdicts, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from atcheck.errors import UsageError
from atcheck.paths import vectors_dir
from atcheck.schema.commands import register
from atcheck.syntax import VECTOR_LINES_OVERRULED


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="atcheck")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def lexdir() -> Path:
    return vectors_dir() / "lexicon"


def test_syntax_values_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("syntax", "handle", "alice.test") == 0
    assert capsys.readouterr().out == "valid    alice.test\n"
    assert run("syntax", "handle", "alice.test", "1.2.3.4", "--json") == 1
    out = json.loads(capsys.readouterr().out)
    assert out[1] == {
        "value": "1.2.3.4",
        "valid": False,
        "error": "the top-level domain must start with a letter",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "handle",
        "did",
        "nsid",
        "tid",
        "recordkey",
        "aturi",
        "atidentifier",
        "datetime",
        "language",
        "cid",
        "uri",
    ],
)
def test_syntax_vectors(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    syntax_dir = vectors_dir() / "syntax"
    assert run("syntax", kind, "--file", str(syntax_dir / f"{kind}_syntax_valid.txt")) == 0
    capsys.readouterr()
    assert run("syntax", kind, "--file", str(syntax_dir / f"{kind}_syntax_invalid.txt"), "--json") == 1
    accepted = {r["value"] for r in json.loads(capsys.readouterr().out) if r["valid"]}
    # Only the vector lines the spec overrules (atcheck.syntax.VECTOR_LINES_OVERRULED) may be accepted.
    assert accepted == {value for (k, value) in VECTOR_LINES_OVERRULED if k == kind}


def test_syntax_parse_invalid_vectors(capsys: pytest.CaptureFixture[str]) -> None:
    syntax_dir = vectors_dir() / "syntax"
    assert run("syntax", "datetime", "--file", str(syntax_dir / "datetime_parse_invalid.txt"), "--json") == 1
    assert not any(r["valid"] for r in json.loads(capsys.readouterr().out))
    # "well-formed BCP 47 syntax, but not 'valid'": the `language` format asks only well-formedness
    assert run("syntax", "language", "--file", str(syntax_dir / "language_parse_invalid.txt"), "--json") == 0
    assert all(r["valid"] for r in json.loads(capsys.readouterr().out))


def test_validate_records_vectors(capsys: pytest.CaptureFixture[str]) -> None:
    catalog = str(lexdir() / "catalog")
    assert run("validate", "records", str(lexdir() / "record-data-valid.json"), "--lexicons", catalog) == 0
    capsys.readouterr()
    assert (
        run(
            "validate", "records", str(lexdir() / "record-data-invalid.json"), "--lexicons", catalog, "--json"
        )
        == 1
    )
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 50 and not any(r["valid"] for r in results)
    assert results[0] == {
        "name": "missing required field",
        "valid": False,
        "error": "$: 'integer' is a required property",
        "errors": ["$: 'integer' is a required property"],
    }


def test_lint_vectors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schema", "lint", str(lexdir() / "lexicon-valid.json")) == 0
    assert run("schema", "lint", str(lexdir() / "lexicon-invalid.json"), "--json") == 1
    out = capsys.readouterr().out
    results = json.loads(out[out.index("[") :])
    assert [r["valid"] for r in results] == [False] * 7
    assert run("schema", "lint", str(lexdir() / "catalog")) == 0


def _write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


NOTE = {
    "lexicon": 1,
    "id": "com.example.note",
    "defs": {
        "main": {
            "type": "record",
            "key": "tid",
            "record": {
                "type": "object",
                "required": ["text"],
                "properties": {"text": {"type": "string", "maxLength": 20}},
            },
        }
    },
}


def test_diff_breaking_change_and_counterexample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path / "old.json", NOTE)
    tightened = json.loads(json.dumps(NOTE))
    tightened["defs"]["main"]["record"]["properties"]["text"]["maxLength"] = 10
    new = _write(tmp_path / "new.json", tightened)
    assert run("schema", "diff", str(old), str(new), "--json", "--examples", "50") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["breaking"] == 1
    assert report["changes"][0]["kind"] == "constraint-changed"
    [ce] = report["counterexamples"]
    text = ce["example"]["text"]
    assert 10 < len(text.encode()) <= 20, "shrunk to just past the new limit"
    assert run("schema", "diff", str(old), str(old)) == 0


def test_build_check_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lexrpc")
    assert run("schema", "build", "--check") == 0
    assert "current" in capsys.readouterr().out


def test_build_into_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "lex"
    src.mkdir()
    _write(src / "note.json", NOTE)
    assert run("schema", "build", "--lexicons", str(src), "--out", str(tmp_path / "out")) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["com.example.note.json", "index.json"]
    assert run("schema", "build", "--lexicons", str(src), "--out", str(tmp_path / "out"), "--check") == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["syntax", "colour", "x"], "unknown syntax kind 'colour'"),
        (["syntax", "did"], "give values"),
        (["validate", "records", "{tmp}/broken.json"], "broken.json:1:2: invalid JSON"),
        (["validate", "records", "{tmp}/notlist.json"], "expected a JSON list"),
        (
            ["validate", "records", "{tmp}/recs.json", "--lexicons", "{tmp}/dangling"],
            "com.example.nope#x does not resolve",
        ),
        (
            ["validate", "records", "{tmp}/recs.json", "--lexicons", "{tmp}/malformed"],
            "m.json: $.defs.main.record: a record def needs",
        ),
        (["schema", "lint", "{tmp}/missing.json"], "missing.json: no such file"),
        (["schema", "build", "--lexicons", "{tmp}/dangling"], "--lexicons needs --out DIR"),
        (
            ["validate", "records", "{tmp}/recs.json"],
            "recs.json: [0].data.$type: unknown Lexicon NSID 'com.example.x'",
        ),
        (["schema", "diff", "{tmp}/broken.json", "{tmp}/broken.json"], "invalid JSON"),
        (["schema", "diff", "{tmp}/dangling", "{tmp}/dangling2"], "com.example.nope#x does not resolve"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(tmp_path: Path, argv: list[str], message: str) -> None:
    (tmp_path / "broken.json").write_text("{nope")
    _write(tmp_path / "notlist.json", {"name": "x"})
    _write(tmp_path / "recs.json", [{"name": "a", "data": {"$type": "com.example.x"}}])
    (tmp_path / "dangling").mkdir()
    _write(
        tmp_path / "dangling" / "d.json",
        {
            "lexicon": 1,
            "id": "com.example.x",
            "defs": {
                "main": {
                    "type": "record",
                    "key": "tid",
                    "record": {
                        "type": "object",
                        "properties": {"r": {"type": "ref", "ref": "com.example.nope#x"}},
                    },
                }
            },
        },
    )
    (tmp_path / "dangling2").mkdir()
    dangling = json.loads((tmp_path / "dangling" / "d.json").read_text())
    dangling["defs"]["main"]["record"]["properties"]["n"] = {"type": "integer"}
    _write(tmp_path / "dangling2" / "d.json", dangling)
    (tmp_path / "malformed").mkdir()
    _write(
        tmp_path / "malformed" / "m.json",
        {
            "lexicon": 1,
            "id": "com.example.x",
            "defs": {"main": {"type": "record", "key": "tid", "record": {"type": "objekt"}}},
        },
    )
    with pytest.raises(UsageError) as info:
        run(*[a.format(tmp=tmp_path) for a in argv])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_diff_checks_procedure_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = {
        "lexicon": 1,
        "id": "com.example.send",
        "defs": {
            "main": {
                "type": "procedure",
                "input": {
                    "encoding": "application/json",
                    "schema": {
                        "type": "object",
                        "required": ["n"],
                        "properties": {"n": {"type": "integer", "maximum": 100}},
                    },
                },
            }
        },
    }
    old = _write(tmp_path / "old.json", proc)
    tightened = json.loads(json.dumps(proc))
    tightened["defs"]["main"]["input"]["schema"]["properties"]["n"]["maximum"] = 50
    new = _write(tmp_path / "new.json", tightened)
    assert run("schema", "diff", str(old), str(new), "--json", "--examples", "50") == 1
    report = json.loads(capsys.readouterr().out)
    assert [c["context"] for c in report["changes"]] == ["input"]
    [ce] = report["counterexamples"]
    assert ce["part"] == "input" and ce["example"] == {"n": 51}
