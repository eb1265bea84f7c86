"""One case put to a library, the verdict atcheck expects, and how an answer is judged against it.

A case carries the catalogue ID of the rule it checks, where it comes from (an official vector, with file
and line, or a generator of atcheck's with its seed), and what the answer must be. Judging is here, once, so
every suite and every report says the same thing about the same answer.

Expectations:

- ``accept`` / ``reject``: a validity op (``syntax.valid``, ``cbor.decode``, ``crypto.verify``) must say yes
  or no. A ``false`` result or an ``error`` answer is a no; for ``cbor.decode``, a yes must also give back the
  oracle's value (``value``).
- ``equal``: a producing op must give exactly ``value`` (DAG-CBOR bytes in base64, a CID string).
- ``refuse``: a producing op must refuse (an ``error`` answer); any result is wrong.
- ``signature``: ``crypto.sign``'s result must verify under ``value`` (a did:key) with the oracle, low-S
  included, and be the 64-byte compact form.
- ``tids``: ``tid.next``'s result must be ``count`` valid TIDs, strictly increasing (so never repeating), and
  with ``value`` set (seconds), each timestamp within that many seconds of atcheck's clock (µs, not ms).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from atcheck.libs.harness import Answer
from atcheck.oracle.cbor import from_json
from atcheck.oracle.crypto import verify_signature
from atcheck.oracle.errors import OracleError
from atcheck.syntax import decode_tid, is_valid_tid

Expect = Literal["accept", "reject", "equal", "refuse", "signature", "tids"]
_SHOWN = 160


@dataclass(frozen=True)
class Case:
    """One question to a library, and the answer the oracle (and the spec) expect."""

    op: str
    args: Mapping[str, Any]
    expect: Expect
    requirement: str  # the catalogue ID whose rule this case checks
    source: str  # "vector syntax/handle_syntax_valid.txt:12", "generated (seed 7)"
    value: Any = None  # the expected value (see the module docstring)
    why: str = ""  # what the case probes, in a few words ("TLD starts with a digit")
    tags: tuple[str, ...] = field(default=())
    #: the spec also allows a refusal (an integer of 54 to 64 bits: "should be limited to 53 bits")
    may_refuse: bool = False

    def show(self) -> str:
        """The input, short enough for a message (long values keep their head and their length)."""
        shown = {k: v for k, v in self.args.items()}
        text = json.dumps(shown, ensure_ascii=True)
        if len(text) > _SHOWN:
            text = f"{text[:_SHOWN]}... ({len(text)} chars)"
        return f"{self.op} {text}"


@dataclass(frozen=True)
class Judgement:
    """``agree`` (the library says what atcheck expects), ``disagree``, or ``unsupported``."""

    status: Literal["agree", "disagree", "unsupported"]
    detail: str = ""


def judge(case: Case, answer: Answer) -> Judgement:
    """Compare one answer with what the case expects."""
    if answer.kind == "unsupported":
        return Judgement("unsupported")
    if case.may_refuse and answer.kind == "error":
        return Judgement("agree")
    if case.expect in ("accept", "reject"):
        return _judge_validity(case, answer)
    if case.expect == "refuse":
        if answer.kind == "error":
            return Judgement("agree")
        return Judgement("disagree", f"expected a refusal, got {answer.describe()}")
    if case.expect == "equal":
        if answer.kind == "result" and answer.value == case.value:
            return Judgement("agree")
        return Judgement("disagree", f"expected {_short(case.value)}, got {answer.describe()}")
    if case.expect == "tids":
        return _judge_tids(case, answer)
    return _judge_signature(case, answer)


def _judge_tids(case: Case, answer: Answer) -> Judgement:
    count = int(case.args["count"])
    got = answer.value
    if answer.kind != "result" or not isinstance(got, list) or len(got) != count:
        return Judgement("disagree", f"expected a list of {count} TIDs, got {answer.describe()}")
    bad = [t for t in got if not isinstance(t, str) or not is_valid_tid(t)]
    if bad:
        return Judgement("disagree", f"not valid TIDs: {_short(bad[:5])}")
    for i in range(1, count):
        if got[i] <= got[i - 1]:
            return Judgement("disagree", f"not strictly increasing: {got[i - 1]} then {got[i]} (#{i})")
    if case.value is not None:
        now_us = int(time.time() * 1_000_000)
        worst = max((abs(decode_tid(t)[0] - now_us) for t in got), default=0)
        if worst > float(case.value) * 1_000_000:
            return Judgement(
                "disagree", f"a timestamp is {worst / 1e6:.0f} s from atcheck's clock (µs since epoch)"
            )
    return Judgement("agree")


def _judge_validity(case: Case, answer: Answer) -> Judgement:
    said_yes = answer.kind == "result" and answer.value is not False
    if case.expect == "reject":
        if said_yes:
            return Judgement(
                "disagree", f"expected invalid (rejected), the library accepted it ({answer.describe()})"
            )
        return Judgement("agree")
    if not said_yes:
        return Judgement("disagree", f"expected valid, the library rejected it ({answer.describe()})")
    if case.value is not None and not _same(case, answer.value):
        return Judgement(
            "disagree", f"accepted, but gave {_short(answer.value)}; expected {_short(case.value)}"
        )
    return Judgement("agree")


def _same(case: Case, got: Any) -> bool:
    if case.op == "cbor.decode":  # two JSON forms of one value ($bytes padding and key order aside)
        return decoded_equal(case.value, got)
    return bool(got == case.value)


def decoded_equal(expected: Any, got: Any) -> bool:
    """Whether two JSON forms denote the same data-model value ($bytes padding and key order aside)."""
    try:
        return bool(from_json(expected) == from_json(got))
    except OracleError:
        return False


def _judge_signature(case: Case, answer: Answer) -> Judgement:
    if answer.kind != "result" or not isinstance(answer.value, str):
        return Judgement("disagree", f"expected a signature, got {answer.describe()}")
    try:
        text = answer.value.rstrip("=")
        signature = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return Judgement("disagree", f"the signature is not base64: {answer.value[:_SHOWN]!r}")
    message = base64.b64decode(case.args["message_b64"])
    try:
        verify_signature(str(case.value), message, signature)
    except OracleError as exc:
        return Judgement("disagree", f"the signature does not verify with atcheck's oracle: {exc}")
    return Judgement("agree")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, str) else value
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} chars)"
