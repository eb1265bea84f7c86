"""The emulated PDS over the wire, with a plain WebSocket client standing in for a relay."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from atcheck.oracle.repo import verify_repo_car
from atcheck.upstream.cases import build_script
from atcheck.upstream.script import Script, ScriptBuilder
from atcheck.upstream.server import UpstreamServer
from atcheck.upstream.tap import decode_frame


@pytest.fixture
def served() -> Iterator[tuple[UpstreamServer, Script]]:
    with UpstreamServer(interval_s=0) as server:

        def plc(request: httpx.Request) -> httpx.Response:
            json.loads(request.content)
            return httpx.Response(200)

        with httpx.Client(transport=httpx.MockTransport(plc)) as client:
            builder = ScriptBuilder(client, "http://plc.test", server.url)
            build_script(builder)
        server.load(builder.script)
        yield server, builder.script


def _read(server: UpstreamServer, query: str = "", count: int = 10_000) -> list[bytes]:
    url = f"ws://127.0.0.1:{server.port}/xrpc/com.atproto.sync.subscribeRepos{query}"
    got: list[bytes] = []
    with connect(url, max_size=None, open_timeout=5, compression=None) as ws:
        while len(got) < count:
            try:
                message = ws.recv(timeout=0.5)
            except (TimeoutError, ConnectionClosed):
                break
            assert isinstance(message, bytes)
            got.append(message)
    return got


def test_binds_loopback_and_names_localhost(served: tuple[UpstreamServer, Script]) -> None:
    server, _ = served
    assert server._server.socket.getsockname()[0] == "127.0.0.1"
    assert server.url == f"http://localhost:{server.port}"


def test_streams_the_script_then_replays_after_a_cursor_without_poison(
    served: tuple[UpstreamServer, Script],
) -> None:
    server, script = served
    first = _read(server)
    assert first == [f.data for f in script.frames]
    cursor = script.frames[10].seq
    again = _read(server, f"?cursor={cursor}")
    expected = [f.data for f in script.frames if f.seq > cursor and not f.once]
    assert again == expected
    assert _read(server) == []  # live position: nothing new
    assert [c.cursor for c in server.connections] == [None, cursor, None]


def test_future_cursor_gets_the_error_frame(served: tuple[UpstreamServer, Script]) -> None:
    server, script = served
    (frame,) = _read(server, f"?cursor={script.frames[-1].seq + 100}")
    kind, body = decode_frame(frame)
    assert kind == "error" and body["error"] == "FutureCursor"


def test_sync_endpoints_serve_the_honest_repo(served: tuple[UpstreamServer, Script]) -> None:
    server, script = served
    did, repo = next(iter(script.repos.items()))
    assert repo.head is not None
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}/xrpc", timeout=5, trust_env=False) as c:
        latest = c.get("com.atproto.sync.getLatestCommit", params={"did": did}).json()
        assert latest == {"cid": str(repo.head.commit_cid), "rev": repo.head.rev}
        car = c.get("com.atproto.sync.getRepo", params={"did": did})
        assert car.headers["content-type"] == "application/vnd.ipld.car"
        verified = verify_repo_car(car.content, did=did, signing_key=repo.identity.signing_key.public)
        assert verified.commit.rev == repo.head.rev
        assert c.get("com.atproto.sync.getRepoStatus", params={"did": did}).json()["active"] is True
        listed = c.get("com.atproto.sync.listRepos").json()["repos"]
        assert {r["did"] for r in listed} == set(script.repos)
        assert c.get("com.atproto.server.describeServer").json()["did"].startswith("did:web:localhost")
        missing = c.get("com.atproto.sync.getRepo", params={"did": "did:plc:nobody"})
        assert missing.status_code == 400 and missing.json()["error"] == "RepoNotFound"
        assert c.get("com.atproto.repo.createRecord").status_code == 501
