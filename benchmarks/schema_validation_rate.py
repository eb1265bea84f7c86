"""Validation rate (records/s) of atcheck against @atproto/lexicon and lexrpc on the same generated records.

Generates --records records (default 10,000; half valid, half with one broken constraint) spread over every
record type of the default Lexicon set, then times each validator over the whole batch. @atproto/lexicon runs
in one long-lived Node process fed batches of 500 (JSON encoding and the pipe are included in its time, as
they are the price of asking it). Prints figures, asserts nothing.

    .venv/bin/python benchmarks/schema_validation_rate.py [--records 10000] [--seed 7] [--no-lexrpc]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from atcheck.schema.differential import generate_cases
from atcheck.schema.oracles import LexrpcValidator, NodeLexiconValidator
from atcheck.schema.registry import SchemaRegistry
from atcheck.schema.sources import default_lexicons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-lexrpc", action="store_true")
    args = parser.parse_args()
    lexicons = default_lexicons()
    registry = SchemaRegistry.from_lexicons(lexicons)
    types = registry.record_types()
    per_type = -(-args.records // (2 * len(types)))
    started = time.perf_counter()
    cases = generate_cases(lexicons, types, per_type, args.seed)
    extra_seed = args.seed
    while len(cases) < args.records:  # hypothesis stops early on small record types; top up with more seeds
        extra_seed += 1000
        cases += generate_cases(lexicons, types, per_type, extra_seed)
    cases = cases[: args.records]
    print(
        f"generated {len(cases)} records over {len(types)} record types "
        f"in {time.perf_counter() - started:.1f}s "
        f"(seed {args.seed})"
    )
    items = [(c.nsid, "record", c.record) for c in cases]

    registry = SchemaRegistry.from_lexicons(lexicons)  # cold: validators are compiled during the timed pass
    started = time.perf_counter()
    ours = [registry.is_valid(c.record, c.nsid, "record") for c in cases]
    cold = time.perf_counter() - started
    started = time.perf_counter()
    ours = [registry.is_valid(c.record, c.nsid, "record") for c in cases]
    warm = time.perf_counter() - started
    rows: list[tuple[str, float, int]] = [
        ("atcheck (cold)", cold, sum(ours)),
        ("atcheck (warm)", warm, sum(ours)),
    ]
    docs = [d.raw for d in lexicons.documents.values()]
    with NodeLexiconValidator(docs) as node:
        started = time.perf_counter()
        verdicts = node.validate(items)
        rows.append((node.version, time.perf_counter() - started, sum(v for v, _ in verdicts)))
    if not args.no_lexrpc:
        lexrpc: Any = LexrpcValidator(docs)
        started = time.perf_counter()
        verdicts = lexrpc.validate(items)
        rows.append((lexrpc.version, time.perf_counter() - started, sum(v for v, _ in verdicts)))
    print(f"{'validator':42} {'seconds':>8} {'records/s':>10} {'accepted':>9}")
    for name, seconds, accepted in rows:
        print(f"{name:42} {seconds:8.2f} {len(cases) / seconds:10.0f} {accepted:9}")


if __name__ == "__main__":
    main()
