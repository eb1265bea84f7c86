"""The schema command group: ``syntax``, ``validate records``, ``schema lint|diff|build``.

Each handler returns the exit code (0: everything valid / nothing breaking; 1: something invalid or breaking)
and raises :class:`atcheck.errors.UsageError` (exit 2, one line) for bad input: unreadable or invalid JSON, an
unknown NSID, a malformed Lexicon, a ref that does not resolve. Heavy imports happen inside the handlers so
that ``atcheck --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from atcheck.errors import UsageError

SYNTAX_KINDS = {
    "handle": "handle",
    "did": "did",
    "nsid": "nsid",
    "tid": "tid",
    "recordkey": "record-key",
    "aturi": "at-uri",
    "atidentifier": "at-identifier",
    "datetime": "datetime",
    "language": "language",
    "cid": "cid",
    "uri": "uri",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``syntax``, ``validate`` and ``schema`` to the ``atcheck`` command."""
    syn = subparsers.add_parser("syntax", help="check atproto identifiers and string formats")
    syn.add_argument("kind", metavar="KIND", help=f"one of: {', '.join(SYNTAX_KINDS)}")
    syn.add_argument("values", nargs="*", metavar="VALUE")
    syn.add_argument("--file", type=Path, help="one value per line; '#' comments and blank lines skipped")
    syn.add_argument("--json", action="store_true", help="print a JSON list of {value, valid, error}")
    syn.set_defaults(func=cmd_syntax)

    val = subparsers.add_parser("validate", help="validate data against Lexicons")
    val_sub = val.add_subparsers(dest="validate_command", metavar="WHAT", required=True)
    rec = val_sub.add_parser("records", help="validate records, each by its own $type")
    rec.add_argument(
        "file", type=Path, metavar="FILE.json", help='a JSON list of {"name": ..., "data": {...}}'
    )
    _lexicons_option(rec)
    rec.add_argument("--json", action="store_true", help="print a JSON list of {name, valid, error}")
    rec.set_defaults(func=cmd_validate_records)

    schema = subparsers.add_parser("schema", help="Lexicon schemas: lint, diff, build")
    schema_sub = schema.add_subparsers(dest="schema_command", metavar="ACTION", required=True)
    lint = schema_sub.add_parser("lint", help="check Lexicon documents against the Lexicon spec's rules")
    lint.add_argument(
        "file",
        type=Path,
        metavar="FILE|DIR",
        help='a Lexicon, a folder, or a JSON list of {"name", "lexicon"}',
    )
    lint.add_argument("--json", action="store_true")
    lint.set_defaults(func=cmd_lint)

    diff = schema_sub.add_parser(
        "diff", help="list changes between two Lexicon versions; exit 1 if any breaks"
    )
    diff.add_argument("old", type=Path, nargs="?", metavar="OLD", help="Lexicon file or folder (before)")
    diff.add_argument("new", type=Path, nargs="?", metavar="NEW", help="Lexicon file or folder (after)")
    diff.add_argument(
        "--git",
        nargs=3,
        metavar=("REF1", "REF2", "PATH"),
        help="compare PATH (a Lexicon folder or file) at two git refs, e.g. --git origin/main HEAD lexicons",
    )
    diff.add_argument(
        "--repo", type=Path, default=Path("."), metavar="DIR", help="with --git: the repository (default: .)"
    )
    diff.add_argument("--json", action="store_true")
    diff.add_argument(
        "--examples", type=int, default=200, metavar="N", help="generated examples per record/input"
    )
    diff.add_argument(
        "--no-property-check", action="store_true", help="skip the generated-data backward check"
    )
    diff.set_defaults(func=cmd_diff)

    build = schema_sub.add_parser("build", help="regenerate schemas/lexicons/ from the Lexicon source")
    _lexicons_option(build)
    build.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: schemas/lexicons/)")
    build.add_argument("--check", action="store_true", help="write nothing; exit 1 if the output is stale")
    build.set_defaults(func=cmd_build)


def _lexicons_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lexicons",
        type=Path,
        metavar="DIR",
        help="Lexicon tree to use (default: the pinned lexrpc wheel's Lexicons)",
    )


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# -- syntax ----------------------------------------------------------------------------------------


def read_values(path: Path) -> list[str]:
    """One value per line, as in the official vectors: '#' comment lines and blank lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def cmd_syntax(args: argparse.Namespace) -> int:
    from atcheck import syntax

    kind = SYNTAX_KINDS.get(args.kind.lower().replace("-", "").replace("_", ""))
    if kind is None:
        raise UsageError(f"unknown syntax kind {args.kind!r}; expected one of {', '.join(SYNTAX_KINDS)}")
    values = list(args.values) + (read_values(args.file) if args.file else [])
    if not values:
        raise UsageError("give values to check, or --file FILE")
    results = []
    for value in values:
        try:
            syntax.CHECKS[kind](value)
            results.append({"value": value, "valid": True, "error": None})
        except syntax.SyntaxViolation as exc:
            results.append({"value": value, "valid": False, "error": exc.reason})
    if args.json:
        _print_json(results)
    else:
        for r in results:
            print(f"valid    {r['value']}" if r["valid"] else f"invalid  {r['value']}: {r['error']}")
    return 0 if all(r["valid"] for r in results) else 1


# -- validate records ------------------------------------------------------------------------------


def registry_for(path: Path | None) -> Any:
    """The registry for ``--lexicons DIR`` (missing refs resolved from the default set), else the default."""
    from atcheck.schema.registry import SchemaRegistry, default_registry

    if path is None:
        return default_registry()
    return SchemaRegistry.from_lexicons(lexicon_set(path))


def lexicon_set(path: Path) -> Any:
    """The Lexicons at ``path``, falling back to the default set for refs to Lexicons it does not contain."""
    from atcheck.errors import SetupError
    from atcheck.schema.document import LexiconError
    from atcheck.schema.registry import SchemaRegistry
    from atcheck.schema.sources import default_lexicons, directory_lexicons, overlay

    own = directory_lexicons(path)
    try:
        SchemaRegistry.from_lexicons(own)
        return own
    except LexiconError as first:
        try:
            merged = overlay(own, default_lexicons())
            SchemaRegistry.from_lexicons(merged)
        except (SetupError, LexiconError):
            raise first from None  # the tree's own dangling ref is the cause, not the fallback's
        return merged


def cmd_validate_records(args: argparse.Namespace) -> int:
    from atcheck.schema.sources import read_json_file

    cases = read_json_file(args.file)
    if not isinstance(cases, list):
        raise UsageError(f'{args.file}: expected a JSON list of {{"name": ..., "data": {{...}}}}')
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or "data" not in case:
            raise UsageError(f"{args.file}: [{i}]: each entry needs 'data' (and a 'name')")
    registry = registry_for(args.lexicons)
    for i, case in enumerate(cases):
        rtype = case["data"].get("$type") if isinstance(case["data"], dict) else None
        if isinstance(rtype, str) and rtype and rtype not in registry.resources:
            where = f"--lexicons {args.lexicons}" if args.lexicons else "the default Lexicons"
            raise UsageError(
                f"{args.file}: [{i}].data.$type: unknown Lexicon NSID {rtype!r} (not in {where})"
            )
    results = []
    for i, case in enumerate(cases):
        errors = registry.record_errors(case["data"])
        name = case.get("name", f"#{i}")
        results.append(
            {"name": name, "valid": not errors, "error": errors[0] if errors else None, "errors": errors}
        )
    if args.json:
        _print_json(results)
    else:
        for r in results:
            print(f"valid    {r['name']}" if r["valid"] else f"invalid  {r['name']}: {r['error']}")
    return 0 if all(r["valid"] for r in results) else 1


# -- schema lint -----------------------------------------------------------------------------------


def cmd_lint(args: argparse.Namespace) -> int:
    from atcheck.schema.lint import lint_document
    from atcheck.schema.sources import read_json_file

    path: Path = args.file
    documents: list[tuple[str, Any]] = []
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        documents = [(str(p), read_json_file(p)) for p in files]
        if not documents:
            raise UsageError(f"{path}: no .json files")
    else:
        data = read_json_file(path)
        if isinstance(data, list):
            for i, entry in enumerate(data):
                if not isinstance(entry, dict) or "lexicon" not in entry:
                    raise UsageError(f"{path}: [{i}]: each entry needs 'lexicon' (and a 'name')")
                documents.append((str(entry.get("name", f"#{i}")), entry["lexicon"]))
        else:
            documents = [(str(path), data)]
    others = _index(documents)
    results: list[dict[str, Any]] = []
    for name, raw in documents:
        issues = lint_document(raw, others)
        errors = [i for i in issues if i.severity == "error"]
        results.append(
            {
                "name": name,
                "valid": not errors,
                "error": errors[0].render() if errors else None,
                "issues": [
                    {"path": i.path, "rule": i.rule, "severity": i.severity, "message": i.message}
                    for i in issues
                ],
            }
        )
    if args.json:
        _print_json(results)
    else:
        for r in results:
            print(f"valid    {r['name']}" if r["valid"] else f"invalid  {r['name']}: {r['error']}")
            for issue in r["issues"][1 if not r["valid"] else 0 :]:
                print(f"         {issue['severity']}: {issue['path']}: {issue['message']} [{issue['rule']}]")
    return 0 if all(r["valid"] for r in results) else 1


def _index(documents: list[tuple[str, Any]]) -> dict[str, Any] | None:
    """The documents as a set for cross-document ref checks, when there is more than one of them."""
    from atcheck.schema.document import LexiconDocument, LexiconError, parse_document

    if len(documents) < 2:
        return None
    out: dict[str, LexiconDocument] = {}
    for name, raw in documents:
        try:
            doc = parse_document(raw, name)
        except LexiconError:
            continue
        out[doc.nsid] = doc
    return out


# -- schema diff -----------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    if args.git:
        if args.old is not None or args.new is not None:
            raise UsageError("give either OLD NEW or --git REF1 REF2 PATH, not both")
        from atcheck.schema.git_refs import exported_pair

        ref1, ref2, path = args.git
        with exported_pair(args.repo, ref1, ref2, path) as (old, new):
            return _diff_paths(argparse.Namespace(**{**vars(args), "old": old, "new": new}))
    if args.old is None or args.new is None:
        raise UsageError("schema diff needs OLD and NEW (Lexicon files or folders), or --git REF1 REF2 PATH")
    return _diff_paths(args)


def _diff_paths(args: argparse.Namespace) -> int:
    from atcheck.schema.diff import diff_sets
    from atcheck.schema.document import LexiconError
    from atcheck.schema.sources import directory_lexicons

    old, new = directory_lexicons(args.old), directory_lexicons(args.new)
    changes = diff_sets(old.documents, new.documents)
    counterexamples: list[dict[str, Any]] = []
    if not args.no_property_check:
        from atcheck.schema.backcheck import backward_check

        touched = sorted(
            {c.nsid for c in changes if c.context in ("record", "input") and c.kind != "lexicon-added"}
        )
        touched = [n for n in touched if n in old.documents and n in new.documents]
        try:
            counterexamples = backward_check(
                lexicon_set(args.old), lexicon_set(args.new), touched, args.examples
            )
        except LexiconError as exc:
            raise UsageError(
                str(exc), hint="--no-property-check compares the Lexicons without generating data"
            ) from None
    breaking = [c for c in changes if c.breaking]
    if args.json:
        _print_json(
            {
                "changes": [c.as_json() for c in changes],
                "breaking": len(breaking),
                "counterexamples": counterexamples,
            }
        )
    else:
        for c in changes:
            print(c.render())
        for ce in counterexamples:
            print(
                f"counterexample {ce['nsid']} {ce['part']}: "
                f"valid under OLD, invalid under NEW: {ce['errors'][0]}"
            )
            print(f"    {json.dumps(ce['example'], ensure_ascii=False)}")
        print(f"{len(changes)} change(s), {len(breaking)} breaking, {len(counterexamples)} counterexample(s)")
    return 1 if breaking or counterexamples else 0


# -- schema build ----------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace) -> int:
    import time

    from atcheck.schema import build
    from atcheck.schema.registry import schemas_dir
    from atcheck.schema.sources import lexicons

    if args.lexicons is not None and args.out is None:
        raise UsageError(
            "--lexicons needs --out DIR: schemas/lexicons/ holds the schemas of the pinned default source"
        )
    started = time.perf_counter()
    source = lexicons(args.lexicons)
    files = build.generate(source)
    elapsed = time.perf_counter() - started
    out = args.out or schemas_dir()
    if args.check:
        staleness = build.compare(files, out)
        print(f"{out}: {staleness.summary()} ({len(files) - 1} Lexicons from {source.describe()})")
        return 0 if staleness.current else 1
    changed = build.write(files, out)
    print(f"{out}: {len(files) - 1} schemas from {source.describe()} in {elapsed:.2f}s; {changed.summary()}")
    return 0
