"""The hostile upstream against a real relay: indigo's ``cmd/relay`` (the Sync 1.1 reference relay).

This proves the emulator end to end (real PLC, real relay started from the built-in ``indigo-relay``
manifest the way the suite starts it, real WebSocket) and records what the pinned relay does with each
case. Its verdicts follow from indigo's code (cmd/relay/relay/verify.go): a failed
MST inversion, and so a missing block, is only logged ("failed to invert commit MST"), and the commit is
passed on; a wrong since/prevData is logged and passed on, as proposal 0006 asks of relays; a commit with
the deprecated tooBig flag is refused ("deprecated tooBig commit flag set") where the spec says consumers
ignore the flag; everything else is dropped before it reaches the relay's own stream. Skipped when no
relay binary is built here.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from atcheck.targets.manifest import builtin_manifests
from atcheck.upstream.cases import build_script
from atcheck.upstream.drive import drive
from atcheck.upstream.relay_instance import relay_following
from atcheck.upstream.script import ScriptBuilder
from atcheck.upstream.server import UpstreamServer
from atcheck.upstream.tap import RelayTap

from .live_relay import require_relay_and_plc, running_plc

INDIGO_OBSERVED = {
    "bad-signature": "dropped",
    "wrong-key": "dropped",
    "rev-not-increasing": "dropped",
    "since-mismatch": "passed through",
    "prevdata-mismatch": "passed through",
    "ops-do-not-invert": "passed through",
    "missing-blocks": "passed through",
    "oversize-frame": "dropped",
    "foreign-host": "dropped",
    "malformed-cbor": "dropped",
    "bad-seq": "dropped",
    "unknown-did-account": "dropped",
    "future-rev": "dropped",
    "inactive-account": "dropped",
    "high-s-signature": "dropped",
    "oversize-blocks": "dropped",
    "field-mismatch": "dropped",
    "sync-bad-signature": "dropped",
    "unknown-type": "dropped",
    "lexicon-invalid-record": "passed through",
    "toobig-flag": "dropped",
    "empty-commit": "passed through",
}


def _log_evidence(log: Path, dids: set[str]) -> dict[str, list[str]]:
    """The relay's warnings and errors about each DID (key ``host``: about the connection), for the report."""
    found: dict[str, list[str]] = {did: [] for did in (*dids, "host")}
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") not in ("WARN", "ERROR"):
            continue
        text = f"{entry['msg']}: {entry.get('err') or entry.get('problem') or ''}".strip(": ")
        did = entry.get("did")
        if did in found:
            found[did].append(text)
        elif did is None and ("seq" in entry or "connection" in entry["msg"]):
            found["host"].append(
                f"{text} (seq {entry['seq']}, prev {entry.get('prev')})" if "seq" in entry else text
            )
    return found


def test_indigo_relay_passes_honest_events_and_drops_most_hostile_ones(tmp_path: Path) -> None:
    require_relay_and_plc()
    manifest = builtin_manifests()["indigo-relay"]
    with running_plc(tmp_path) as plc, UpstreamServer() as server:
        with httpx.Client(trust_env=False) as client:
            builder = ScriptBuilder(client, plc.url, server.url)
            build_script(builder)  # registering at the real PLC also checks the genesis operations
        script = builder.script
        with (
            relay_following(
                manifest, "process", plc, server.url, tmp_path, target_name="indigo-relay"
            ) as relay,
            RelayTap(relay.ws_url) as tap,
        ):
            judgement = drive(server, script, tap)
            assert relay.log_path is not None
            evidence = _log_evidence(relay.log_path, {m.ref.did for m in script.marked})
    for verdict in judgement.cases:
        did = next(m.ref.did for m in script.marked if m.case == verdict.case.name)
        print(("ok   " if verdict.ok else "FAIL ") + verdict.explain())
        print("     relay log:", "; ".join(dict.fromkeys(evidence[did])) or "(nothing)")
    reconnects = [c.cursor for c in server.connections]
    print("relay subscriptions (cursor):", reconnects[:20], "..." if len(reconnects) > 20 else "")
    print("relay log about the connection:", "; ".join(evidence["host"]))

    assert judgement.honest_missing == [], [r.describe() for r in judgement.honest_missing]
    assert {v.case.name: v.observed for v in judgement.cases} == INDIGO_OBSERVED
    # The two poison frames (oversize, broken CBOR) each cost the relay its connection; it came back with
    # a cursor and the stream went on.
    assert len(reconnects) == 3 and reconnects[0] is None and all(c for c in reconnects[1:]), reconnects
    failing = {v.case.name for v in judgement.cases if not v.ok}
    assert failing == {"ops-do-not-invert", "missing-blocks", "toobig-flag"}
