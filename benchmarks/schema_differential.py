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
    atcheck_wrong = [d for d in report.disagreements if d.validator == "atcheck"]
    return 1 if atcheck_wrong or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
