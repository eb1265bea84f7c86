"""Self-test of the skyware-labeler target: its setup script's contract, its manifest, a real start.

The live tests start the labeler through the Stack (with the reference PLC it registers its DID at), check
that it listens on 127.0.0.1 only, that its DID document names its label key and service, that the
provisioning route refuses a missing token and bad input with a one-line error, and that stopping leaves
no process behind. They are skipped, with the setup script's reason, when Node or the labeler is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from atcheck.checks import ConformanceFailure
from atcheck.oracle.crypto import PrivateKey, PublicKey
from atcheck.oracle.did import document_entry, verification_key
from atcheck.oracle.plc import sign_op, update_op
from atcheck.paths import project_root
from atcheck.suite.labels import expect_label_signed
from atcheck.targets.launchers.base import LaunchContext
from atcheck.targets.launchers.process import ProcessService
from atcheck.targets.manifest import KNOWN_CAPABILITIES, builtin_manifests
from atcheck.targets.model import Role, ServiceEndpoint
from atcheck.targets.spec import TargetSpec
from atcheck.targets.stack import Stack
from atcheck.tools import missing_tools

SETUP = "scripts/setup-labeler.sh"


def _setup(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(project_root() / SETUP), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "ATCHECK_CACHE": str(cache)},
        check=False,
    )


def test_print_env_without_install_fails_with_one_line(tmp_path: Path) -> None:
    done = _setup("--print-env", cache=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not installed" in lines[0] and SETUP in lines[0], done.stderr


def test_setup_rejects_unknown_options(tmp_path: Path) -> None:
    done = _setup("--frobnicate", cache=tmp_path)
    assert done.returncode == 1 and "unknown option" in done.stderr


def test_setup_sh_installs_the_labeler() -> None:
    text = (project_root() / "scripts/setup.sh").read_text(encoding="utf-8")
    assert any("setup-labeler.sh" in line and not line.startswith("#") for line in text.splitlines())


def test_manifest_declares_a_loopback_labeler_registered_at_the_plc() -> None:
    manifest = builtin_manifests()["skyware-labeler"]
    assert manifest.provisioning == "wrapper"
    assert manifest.capabilities <= KNOWN_CAPABILITIES
    assert {"label.query", "label.subscribe", "label.create"} <= manifest.capabilities
    (service,) = manifest.services
    assert service.roles == (Role.LABELER,) and service.needs == (Role.PLC,)
    assert service.process is not None and service.process.requires == ("node22", "labeler_dir")
    env = service.process.env
    assert env["PLC_URL"] == "{plc.host_url}" and env["LABELER_DB"].startswith("{data_dir}/")
    assert env["ATCHECK_ADMIN_TOKEN"] == service.credentials["bearer_token"]
    assert env["LABELER_SIGNING_KEY_HEX"].startswith("{k256key:")


# -- live -----


@dataclass
class Live:
    stack: Stack
    labeler: ServiceEndpoint
    plc: ServiceEndpoint
    service: ProcessService


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    problem = missing_tools(("node22", "reference_dir", "labeler_dir"))
    if problem:
        pytest.skip(problem)
    run_dir = tmp_path_factory.mktemp("labeler-run")
    builtins = builtin_manifests()
    ctx = LaunchContext(run_id="labeler-selftest", run_dir=run_dir, log_dir=run_dir / "logs")
    stack = Stack(
        [TargetSpec.of(builtins["skyware-labeler"])], ctx, fallback_providers=[builtins["reference"]]
    )
    try:
        running = stack.start("skyware-labeler")
        labeler, plc = running.endpoint(Role.LABELER), running.endpoint(Role.PLC)
        assert labeler is not None and plc is not None
        (service,) = [
            s for s in stack.running_services() if isinstance(s, ProcessService) and s.spec.name == "labeler"
        ]
        yield Live(stack=stack, labeler=labeler, plc=plc, service=service)
    finally:
        stack.stop_all()


def _listening_addresses(pid: int) -> set[str]:
    """The local addresses of every TCP socket process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(socket.inet_ntop(family, words))
    return found


def test_the_labeler_listens_on_loopback_only(live: Live) -> None:
    assert _listening_addresses(live.service.process.pid) == {"127.0.0.1"}


def test_its_did_is_registered_with_label_key_and_service(live: Live) -> None:
    did = httpx.get(f"{live.labeler.url}/atcheck/labeler", timeout=10).json()["did"]
    doc = httpx.get(f"{live.plc.url}/{did}", timeout=10).json()
    assert verification_key(doc, did, "atproto_label").curve == "k256"
    service = document_entry(doc, "service", did, "atproto_labeler")
    assert service["type"] == "AtprotoLabeler" and service["serviceEndpoint"].endswith(
        f":{live.labeler.url.rsplit(':', 1)[1]}"
    )


def test_the_provisioning_route_wants_the_token_and_good_input(live: Live) -> None:
    url = f"{live.labeler.url}/atcheck/labels"
    token = live.labeler.credentials.bearer_token
    assert httpx.post(url, json={"labels": [{"uri": "did:plc:x", "val": "a"}]}, timeout=10).status_code == 401
    bad = httpx.post(
        url, json={"labels": [{"val": "a"}]}, headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert bad.status_code == 400 and "uri" in bad.json()["message"]


def test_stopping_leaves_no_process(tmp_path: Path) -> None:
    problem = missing_tools(("node22", "reference_dir", "labeler_dir"))
    if problem:
        pytest.skip(problem)
    builtins = builtin_manifests()
    ctx = LaunchContext(run_id="labeler-stop", run_dir=tmp_path, log_dir=tmp_path / "logs")
    stack = Stack(
        [TargetSpec.of(builtins["skyware-labeler"])], ctx, fallback_providers=[builtins["reference"]]
    )
    try:
        stack.start("skyware-labeler")
        pids = [s.process.pid for s in stack.running_services() if isinstance(s, ProcessService)]
        assert len(pids) == 2  # the PLC and the labeler
    finally:
        stack.stop_all()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_its_labels_are_refused_once_the_label_key_is_rotated_at_the_plc(tmp_path: Path) -> None:
    """Live, end to end: a served label verifies with the document's ``#atproto_label`` key; once that key
    is rotated at the PLC (an update signed by the labeler's rotation key), the same label, and one made
    afterwards by the unchanged labeler, are refused by the suite's verdict (label §Signatures)."""
    problem = missing_tools(("node22", "reference_dir", "labeler_dir"))
    if problem:
        pytest.skip(problem)
    builtins = builtin_manifests()
    ctx = LaunchContext(run_id="labeler-rotation", run_dir=tmp_path, log_dir=tmp_path / "logs")
    stack = Stack(
        [TargetSpec.of(builtins["skyware-labeler"])], ctx, fallback_providers=[builtins["reference"]]
    )
    try:
        running = stack.start("skyware-labeler")
        labeler, plc = running.endpoint(Role.LABELER), running.endpoint(Role.PLC)
        assert labeler is not None and plc is not None
        auth = {"authorization": f"Bearer {labeler.credentials.bearer_token}"}
        did = httpx.get(f"{labeler.url}/atcheck/labeler", timeout=10).json()["did"]

        def served(uri: str) -> dict[str, object]:
            made = httpx.post(
                f"{labeler.url}/atcheck/labels", json={"labels": [{"uri": uri, "val": "spam"}]}, headers=auth
            )
            assert made.status_code == 200, made.text
            query = {"uriPatterns": uri}
            got = httpx.get(f"{labeler.url}/xrpc/com.atproto.label.queryLabels", params=query, timeout=10)
            (label,) = got.json()["labels"]
            return dict(label)

        def label_key_now() -> PublicKey:
            return verification_key(httpx.get(f"{plc.url}/{did}", timeout=10).json(), did, "atproto_label")

        before = served("did:plc:abcdefghijklmnopqrstuvwx")
        expect_label_signed(before, label_key_now(), "a label before the rotation")

        rotation_hex = stack.secrets.get("k256key", "skyware-labeler/labeler-rotation")
        rotation = PrivateKey.from_bytes("k256", bytes.fromhex(rotation_hex))
        last = httpx.get(f"{plc.url}/{did}/log/last", timeout=10).json()
        new_key = PrivateKey.generate("k256")
        methods = {**last["verificationMethods"], "atproto_label": new_key.public.did_key}
        op = sign_op(update_op(last, verificationMethods=methods), rotation)
        assert httpx.post(f"{plc.url}/{did}", json=op, timeout=10).status_code == 200

        rotated = label_key_now()
        assert rotated == new_key.public
        after = served("did:plc:bcdefghijklmnopqrstuvwxy")
        for label, when in ((before, "before"), (after, "after")):
            with pytest.raises(ConformanceFailure, match="#atproto_label key"):
                expect_label_signed(label, rotated, f"a label made {when} the rotation")
    finally:
        stack.stop_all()
