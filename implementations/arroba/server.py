"""Serve arroba (the Python PDS library) as a PDS that atcheck can test.

arroba is a library, not a server: it has no createAccount and no main program. This wrapper only *provisions
and serves*; every XRPC answer comes from arroba itself, so its deviations from the spec stay visible.

What the wrapper adds:
  GET  /_health            -> 200 {"arroba": <version>}  (readiness probe for the launcher)
  POST /atcheck/accounts   -> provisions an account (arroba has no createAccount), admin-token protected:
       Authorization: Bearer <ATCHECK_ADMIN_TOKEN>, body {"handle": "alice.test"}
       Creates a did:plc at the run's PLC (signing key as #atproto, #atproto_pds = this server's URL,
       alsoKnownAs at://<handle>), creates the repo in arroba's MemoryStorage, and answers
       {"did", "handle", "accessJwt", "refreshJwt"}. arroba authenticates writes with ONE global bearer token
       ($REPO_TOKEN, arroba's own setting, checked by arroba.server.global_token_auth), valid for every repo;
       both "JWTs" are that token, because that is what arroba accepts. Bad input -> 400 {error, message}.

Configuration (environment):
  PORT (required), HOST (default 127.0.0.1)
  PLC_URL (required): the run's PLC, e.g. http://127.0.0.1:2582
  REPO_TOKEN (required): arroba's global write token, handed out as the accounts' access token
  ATCHECK_ADMIN_TOKEN (required): protects /atcheck/accounts
  HANDLE_DOMAIN (default .test): provisioned handles must end with it
  PDS_URL (default http://localhost:PORT): this server's URL as written into each DID document. A host *name*,
       not 127.0.0.1: a relay follows a loopback PDS as ``localhost:PORT`` and drops every event of an account
       whose #atproto_pds endpoint is not exactly that host
  PDS_HOST (default localhost:PORT): arroba's own host setting (it builds describeServer's did:web from it)

Network: nothing leaves this machine. arroba's PLC helpers hard-code ``https://$PLC_HOST``; the wrapper passes
its own get/post hooks to them, and mounts the same rewrite on arroba's shared HTTP session (which arroba
uses internally, e.g. in describeRepo). Requests to any host other than the PLC and loopback are refused with
a ConnectionError, and DNS lookups (arroba's handle resolution) get no name servers, so they fail at once.
"""

from __future__ import annotations

import hmac
import logging
import os
import signal
import sys
import threading
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

# Importing these modules registers arroba's XRPC methods on arroba.server.server.
import arroba.xrpc_actor
import arroba.xrpc_identity
import arroba.xrpc_repo
import arroba.xrpc_server
import arroba.xrpc_sync  # noqa: F401  (also registers com.atproto.sync.subscribeRepos)
import dns.resolver
import requests
import webutil.util
from arroba import did as arroba_did
from arroba import firehose
from arroba import server as arroba_server
from arroba import util as arroba_util
from arroba.repo import Repo
from arroba.storage import MemoryStorage
from flask import Flask, request
from lexrpc.flask_server import init_flask
from requests.adapters import HTTPAdapter
from werkzeug.serving import make_server

log = logging.getLogger("atcheck.arroba")

# Hosts on this machine: loopback, plus the container names of the run's own network, which the container
# launcher lists in ATCHECK_RUN_HOSTS (the PDS reaches the run's PLC by name there, never off the machine).
LOOPBACK_HOSTS = frozenset(
    {
        "127.0.0.1",
        "localhost",
        "::1",
        *(h.strip() for h in os.environ.get("ATCHECK_RUN_HOSTS", "").split(",") if h.strip()),
    }
)
HTTP_TIMEOUT_S = 15.0


def _die(message: str) -> None:
    print(f"arroba wrapper: {message}", file=sys.stderr)
    sys.exit(2)


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        _die(f"${name} is required")
    return str(value)


class Config:
    """The wrapper's settings, read once from the environment."""

    def __init__(self) -> None:
        self.host = _env("HOST", "127.0.0.1")
        port = _env("PORT")
        if not port.isdigit() or not 0 < int(port) < 65536:
            _die(f"$PORT must be a port number, got {port!r}")
        self.port = int(port)
        self.plc_url = _env("PLC_URL").rstrip("/")
        plc = urlsplit(self.plc_url)
        if plc.scheme not in ("http", "https") or not plc.hostname:
            _die(f"$PLC_URL must be an http(s) URL, got {self.plc_url!r}")
        if plc.hostname not in LOOPBACK_HOSTS:
            _die(f"$PLC_URL must be on this machine (127.0.0.1 or localhost), got {self.plc_url!r}")
        self.plc_netloc = plc.netloc
        self.admin_token = _env("ATCHECK_ADMIN_TOKEN")
        _env("REPO_TOKEN")  # arroba reads it itself, per request
        self.repo_token = os.environ["REPO_TOKEN"]
        self.handle_domain = _env("HANDLE_DOMAIN", ".test")
        if not self.handle_domain.startswith("."):
            self.handle_domain = "." + self.handle_domain
        self.pds_url = _env("PDS_URL", f"http://localhost:{self.port}").rstrip("/")
        # arroba's own settings: PLC_HOST is where its helpers send https:// requests (rewritten below);
        # PDS_HOST names this server in describeServer.
        os.environ["PLC_HOST"] = self.plc_netloc
        os.environ.setdefault("PDS_HOST", f"localhost:{self.port}")


class LocalOnlyAdapter(HTTPAdapter):
    """Keeps arroba's HTTP traffic on this machine.

    ``https://<PLC_HOST>/...`` (arroba hard-codes https for the PLC) goes to the run's PLC URL; other loopback
    URLs pass; anything else is refused before a connection is made.
    """

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        parts = urlsplit(url)
        if parts.netloc == self.config.plc_netloc:
            rest = url.split(parts.netloc, 1)[1]
            request.url = self.config.plc_url + rest
            parts = urlsplit(request.url)
        if parts.hostname not in LOOPBACK_HOSTS:
            raise requests.ConnectionError(f"atcheck's arroba wrapper refuses non-local requests: {url}")
        if kwargs.get("timeout") is None:  # arroba's session has no default timeout; every wait needs one
            kwargs["timeout"] = HTTP_TIMEOUT_S
        return super().send(request, **kwargs)


def keep_network_local(config: Config) -> requests.Session:
    """Route arroba's shared session through :class:`LocalOnlyAdapter`; make DNS lookups fail fast."""
    session: requests.Session = webutil.util.session
    adapter = LocalOnlyAdapter(config)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False  # no proxies: traffic stays on this machine
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = []
    resolver.lifetime = 0.5
    dns.resolver.default_resolver = resolver
    return session


def firehose_callback(data: object = None, lost_seq: int | None = None) -> None:
    """Repo callback (the one arroba's docs describe): wake the firehose on every new event."""
    if data is not None:
        firehose.send_events()
    elif lost_seq:
        firehose.mark_seq_lost(lost_seq)


def error(status: int, name: str, message: str) -> tuple[dict[str, str], int]:
    return {"error": name, "message": message}, status


def create_app(config: Config, session: requests.Session) -> Flask:
    app = Flask("atcheck-arroba")
    arroba_server.storage = MemoryStorage()
    init_flask(arroba_server.server, app)
    provision_lock = threading.Lock()

    @app.get("/_health")
    def health() -> dict[str, str]:
        return {"arroba": version("arroba")}

    @app.post("/atcheck/accounts")
    def create_account() -> tuple[dict[str, str], int]:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {config.admin_token}".encode()):
            return error(401, "AuthRequired", "POST /atcheck/accounts needs the admin bearer token")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return error(400, "InvalidRequest", 'expected a JSON object body like {"handle": "alice.test"}')
        handle = body.get("handle")
        if not isinstance(handle, str) or not arroba_did.HANDLE_RE.fullmatch(handle):
            return error(400, "InvalidHandle", f"not a valid handle: {handle!r}")
        handle = handle.lower()
        if not handle.endswith(config.handle_domain):
            return error(400, "InvalidHandle", f"handles here must end with {config.handle_domain}")
        with provision_lock:
            if arroba_server.storage.load_repo(handle) is not None:
                return error(400, "HandleNotAvailable", f"{handle} is already taken")
            signing_key = arroba_util.new_key()
            rotation_key = arroba_util.new_key()
            try:
                plc = arroba_did.create_plc(
                    handle,
                    signing_key=signing_key,
                    rotation_key=rotation_key,
                    pds_url=config.pds_url,
                    get_fn=session.get,
                    post_fn=session.post,
                )
            except requests.RequestException as exc:
                detail = exc.response.text[:300] if exc.response is not None else str(exc)
                return error(502, "PlcError", f"the PLC at {config.plc_url} refused the DID: {detail}")
            repo = Repo.create(
                arroba_server.storage,
                plc.did,
                signing_key=signing_key,
                rotation_key=rotation_key,
                handle=handle,
                callback=firehose_callback,
            )
            # The firehose collector needs at least one event in storage to start (it asserts a last seq).
            firehose.start()
        log.info("provisioned %s as %s", handle, repo.did)
        return {
            "did": repo.did,
            "handle": handle,
            "accessJwt": config.repo_token,
            "refreshJwt": config.repo_token,
        }, 200

    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = Config()
    session = keep_network_local(config)
    app = create_app(config, session)
    httpd = make_server(config.host, config.port, app, threaded=True)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: shutting down", signum)
        # shutdown() waits for serve_forever() to return, so it must run on another thread.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "arroba %s serving on http://%s:%d (PLC %s)",
        version("arroba"),
        config.host,
        config.port,
        config.plc_url,
    )
    httpd.serve_forever(poll_interval=0.1)
    httpd.server_close()
    log.info("stopped")
    # Everything lives in memory, so there is nothing left to save. Skip the interpreter's teardown of
    # arroba's imports (gRPC, Google Cloud, ~600 lexicons), which takes 1-2 s after the server is closed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
