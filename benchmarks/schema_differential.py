"""Differential agreement: atcheck vs @atproto/lexicon (Node) vs lexrpc on generated records.

For every record type of the default Lexicon set, generates N valid records and N near-miss invalid ones
(one constraint broken), asks all three validators, and prints: records generated, disagreements with the
generator's intent per validator, each grouped under its documented class (with the spec sentence that decides
it, atcheck.schema.disagreements), and any UNEXPLAINED one in full. Exit status 1 when atcheck disagrees with
the intent or a disagreement is unexplained. Reproducible: the seed is printed.

    .venv/bin/python benchmarks/schema_differential.py [--per-type 20] [--seed 1] [--no-node] [--no-lexrpc]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from atcheck.paths import vectors_dir
from atcheck.schema import differential
from atcheck.schema.disagreements import KNOWN
from atcheck.schema.oracles import LexrpcValidator, NodeLexiconValidator
from atcheck.schema.sources import default_lexicons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-type", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--no-lexrpc", action="store_true")
    args = parser.parse_args()
    lexicons = default_lexicons()
    docs = [d.raw for d in lexicons.documents.values()]
    oracles: list[Any] = []
    try:
        if not args.no_node:
            oracles.append(NodeLexiconValidator(docs))
        if not args.no_lexrpc:
            oracles.append(LexrpcValidator(docs))
        print("validators: atcheck, " + ", ".join(o.version for o in oracles))
        print(f"Lexicons: {lexicons.describe()}")
        report = differential.run(
            lexicons, oracles, per_type=args.per_type, seed_value=args.seed, progress=print
        )
    finally:
        for oracle in oracles:
            oracle.close()
    for line in differential.summary_lines(report):
        print(line)
    used = {d.known.id for d in report.disagreements if d.known}
    if used:
        print("documented disagreements (who is right is decided by):")
        for known_id in sorted(used):
            known = KNOWN[known_id]
            side = "atcheck" if known.atcheck_right else known.validator
            print(f"  {known_id}: {side} follows the spec. {known.decided_by}")
    unexplained = report.unexplained()
    for d in unexplained[:20]:
        print(
            f"UNEXPLAINED {d.validator} on {d.case.nsid} "
            f"(intent: {'valid' if d.case.expected else 'invalid'}, "
            f"mutation: {d.case.mutation}): {d.error}"
        )
        print("    " + json.dumps(d.case.record, ensure_ascii=False)[:400])
    lint_unexplained = 0
    node = next((o for o in oracles if isinstance(o, NodeLexiconValidator)), None)
    if node is not None:
        node = NodeLexiconValidator([])
        try:
            vectors = vectors_dir() / "lexicon"
            docs = [
                (c["name"], c["lexicon"])
                for f in ("lexicon-valid.json", "lexicon-invalid.json")
                for c in json.loads((vectors / f).read_text())
            ]
            docs += [(d.nsid, d.raw) for d in lexicons.documents.values()]
            total, lint_diffs = differential.lint_agreement(docs, node)
        finally:
            node.close()
        print(
            f"Lexicon documents: atcheck schema lint vs @atproto/lexicon parseLexiconDoc "
            f"on {total} documents "
            f"(10 official vectors + the default set): {len(lint_diffs)} disagreements"
        )
        for ld in lint_diffs:
            why = f"{ld.known.id}: {ld.known.decided_by}" if ld.known else "UNEXPLAINED"
            print(
                f"    {ld.name}: atcheck {'valid' if ld.atcheck_valid else 'invalid'}, "
                f"@atproto/lexicon {'valid' if ld.reference_valid else 'invalid'} - {why}"
            )
            lint_unexplained += ld.known is None
    atcheck_wrong = [d for d in report.disagreements if d.validator == "atcheck"]
    return 1 if atcheck_wrong or unexplained or lint_unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
