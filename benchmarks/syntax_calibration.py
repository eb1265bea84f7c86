"""Differential calibration of atcheck's syntax and string-format verdicts against the reference libraries.

Every official syntax vector, the libs suite's boundary and seeded cases, hand-picked edge cases (BCP 47,
CID strings, AT-URIs, datetimes) and Hypothesis draws (derandomized; ``--per-kind`` valid values and as many
near-misses of each grammar) go to atcheck (:mod:`atcheck.syntax`) and to each judge: the installed library
harnesses (``syntax.valid``; lib-typescript, lib-go, lib-python, lib-rust) and the Lexicon format checks of
@atproto/lexicon (implementations/lexicon-node) and lexrpc. Prints a kind x library table of cases /
disagreements / classified, each disagreement class with who is right and the spec sentence or vector that
decides it (:mod:`atcheck.syntax_disagreements`), and every unclassified disagreement.

Exit status 1 when atcheck misses an official vector or a disagreement is unclassified; a judge that is not
installed is listed as not run, with the reason, and the others still run.

    .venv/bin/python benchmarks/syntax_calibration.py [--per-kind 100] [--only lib-go ...] [--no-lexicon]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from atcheck.errors import AtcheckError
from atcheck.libs import calibrate
from atcheck.libs.harness import Harness
from atcheck.paths import implementations_dir, vectors_dir

#: The library targets and their harness commands (as in src/atcheck/targets/builtin/lib-*.toml).
LIBRARIES: dict[str, tuple[str, ...]] = {
    "lib-typescript": ("node22", "lib_typescript"),
    "lib-go": ("lib_go",),
    "lib-python": ("lib_python", "{implementations}/lib-python/harness.py"),
    "lib-rust": ("lib_rust",),
}


def _command(parts: tuple[str, ...]) -> list[str]:
    from atcheck.tools import resolve_tool

    return [
        p.replace("{implementations}", str(implementations_dir())) if "{" in p else resolve_tool(p)
        for p in parts
    ]


@contextmanager
def _harness_judge(name: str) -> Iterator[calibrate.Judge]:
    harness = Harness(_command(LIBRARIES[name]), name=name, start_timeout_s=120, request_timeout_s=60)
    try:
        yield calibrate.HarnessJudge(name, harness)
    finally:
        harness.close()


@contextmanager
def _format_judge(name: str) -> Iterator[calibrate.Judge]:
    from atcheck.schema.oracles import LexrpcValidator, NodeLexiconValidator

    docs = calibrate.format_lexicons()
    validator = NodeLexiconValidator(docs) if name == "@atproto/lexicon" else LexrpcValidator(docs)
    try:
        yield calibrate.FormatJudge(name, validator)
    finally:
        validator.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--per-kind", type=int, default=100, help="Hypothesis values and near-misses per kind"
    )
    parser.add_argument("--only", nargs="*", default=None, help="judges to run (default: all)")
    parser.add_argument("--no-lexicon", action="store_true", help="skip @atproto/lexicon and lexrpc")
    parser.add_argument("--examples", type=int, default=3, help="examples shown per class")
    args = parser.parse_args()

    try:
        vectors = vectors_dir()
    except AtcheckError as exc:
        print(f"official vectors not found ({exc}); running without them", file=sys.stderr)
        vectors = None
    started = time.monotonic()
    probes = calibrate.all_probes(vectors, args.per_kind)
    kinds = len(calibrate.KIND_ORDER)
    print(f"{len(probes)} probes over {kinds} kinds (Hypothesis draws derandomized: the same every run)")
    cal = calibrate.Calibration()
    calibrate.check_vectors(cal, probes)
    ours = calibrate.atcheck_verdicts(probes)

    judges: list[tuple[str, Callable[[str], AbstractContextManager[calibrate.Judge]]]] = [
        (n, _harness_judge) for n in LIBRARIES
    ]
    if not args.no_lexicon:
        judges += [("@atproto/lexicon", _format_judge), ("lexrpc", _format_judge)]
    for name, opener in judges:
        if args.only is not None and name not in args.only:
            continue
        t0 = time.monotonic()
        try:
            with opener(name) as judge:
                calibrate.compare(cal, judge, probes, ours)
        except (AtcheckError, OSError) as exc:
            cal.not_run[name] = str(exc).splitlines()[0]
            continue
        print(f"  {name}: {len(probes)} probes in {time.monotonic() - t0:.1f} s")

    print()
    for line in calibrate.table_lines(cal):
        print(line)
    print("(cases: probes the library answered; dis: disagreements with atcheck; cls: of those, classified)")
    print()
    for line in calibrate.class_lines(cal, show=args.examples):
        print(line)
    if cal.atcheck_vs_vectors:
        print(f"ATCHECK MISSES {len(cal.atcheck_vs_vectors)} OFFICIAL VECTOR(S):")
        for probe in cal.atcheck_vs_vectors:
            print(f"    {probe.kind} {probe.value!r} ({probe.source})")
    total = len(cal.disagreements())
    print(
        f"\n{total} disagreement(s), {total - len(cal.unclassified())} classified, "
        f"{len(cal.unclassified())} unclassified; {time.monotonic() - started:.1f} s"
    )
    return 1 if cal.unclassified() or cal.atcheck_vs_vectors else 0


if __name__ == "__main__":
    sys.exit(main())
