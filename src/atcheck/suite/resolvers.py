"""atcheck's own name servers for domain handles and did:web: a DNS server, an HTTPS well-known server, a CA.

Why: a domain handle is proved by DNS TXT ``_atproto.<handle>`` or by ``https://<handle>/.well-known/atproto-did``
(handle §DNS TXT, §HTTPS well-known), and a did:web document lives at ``https://<host>/.well-known/did.json``
(did §did:web). On a test machine no public DNS or certificate authority vouches for anything, so atcheck
plays both: :class:`LocalDns` answers TXT queries from a table (UDP, 127.0.0.1, a free port),
:class:`WellKnownServer` serves HTTPS on 127.0.0.1:443 (the port the spec names; handles carry no port)
with a certificate from :class:`LocalCa`, and :func:`pointed_at` tells a PDS (that declares the capability
``identity.local-resolvers``) to use them: DNS servers, a host map for the names, and the CA as a trusted
root. Everything binds 127.0.0.1; names live under :data:`ZONE`, a TLD no registry delegates.

Port 443 is one per machine: :class:`WellKnownServer` holds a lock file in atcheck's cache while it runs, so
two runs on one machine take turns instead of failing.
"""

from __future__ import annotations

import datetime
import fcntl
import http.server
import ipaddress
import secrets
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord

from atcheck.checks import ConformanceFailure, expect_ok
from atcheck.paths import cache_root
from atcheck.suite.target import TargetUnderTest
from atcheck.targets.model import Role

__all__ = [
    "ZONE",
    "LocalCa",
    "LocalDns",
    "WellKnownServer",
    "domain_name",
    "pointed_at",
]

#: The zone every name of these servers lives under. Not `.test` (the reference PDS's own handle domain,
#: whose handles it never resolves), nor a TLD the handle spec disallows (`.localhost`, `.example`...).
#: Two labels, because TLS clients refuse a wildcard certificate directly under a TLD (``*.atcheck``). The
#: handle spec warns that non-standard TLDs will not interoperate on the public network; here no name
#: leaves the machine, and a real TLD would name domains someone else owns.
ZONE = "names.atcheck"

#: How long a test waits for port 443 held by another run on this machine before skipping.
PORT_443_WAIT_S = 120.0


def domain_name(prefix: str = "h") -> str:
    """A fresh name under :data:`ZONE`, e.g. ``h3f9a0c1d.names.atcheck``: a valid handle no one else holds."""
    return f"{prefix}{secrets.token_hex(4)}.{ZONE}"


# -- DNS ----------------------------------------------------------------------------------------------------


class LocalDns:
    """A UDP DNS server on 127.0.0.1 that answers TXT queries from :attr:`txt` and NXDOMAIN otherwise.

    ``txt`` maps a name (``_atproto.<handle>``, no trailing dot) to its TXT values; edit it while the server
    runs. :attr:`queries` keeps every (name, type) asked, as evidence that the resolver came here.
    """

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.queries: list[tuple[str, str]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="atcheck-dns", daemon=True)

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, as a resolver's server list takes it."""
        host, port = self._sock.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> LocalDns:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._sock.sendto(self.answer(data), peer)
            except Exception:  # a malformed query gets no answer, like from any server
                continue

    def answer(self, data: bytes) -> bytes:
        """The reply to one query packet."""
        query = DNSRecord.parse(data)
        reply = query.reply()
        name = str(query.q.qname).rstrip(".").lower()
        qtype = QTYPE.get(query.q.qtype)
        self.queries.append((name, str(qtype)))
        values = self.txt.get(name)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif query.q.qtype == QTYPE.TXT:
            for value in values:
                reply.add_answer(RR(query.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=1))
        return bytes(reply.pack())


# -- TLS ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalCa:
    """A throwaway certificate authority and one server certificate for ``ZONE`` and ``*.ZONE``."""

    ca_pem: str
    cert_pem: str
    key_pem: str

    @classmethod
    def make(cls, zone: str = ZONE) -> LocalCa:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "atcheck test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{zone}")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(zone), x509.DNSName(f"*.{zone}")]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cls(
            ca_pem=ca.public_bytes(serialization.Encoding.PEM).decode(),
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
        )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:
            cert = Path(tmp) / "cert.pem"
            key = Path(tmp) / "key.pem"
            cert.write_text(self.cert_pem)
            key.write_text(self.key_pem)
            context.load_cert_chain(cert, key)
        return context


# -- HTTPS well-known ---------------------------------------------------------------------------------------


@dataclass
class Served:
    """One response of the well-known server: status, body and Content-Type."""

    body: bytes
    status: int = 200
    content_type: str = "text/plain"


@dataclass
class _Routes:
    paths: dict[tuple[str, str], Served] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: _Routes
    timeout = 10

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        path = self.path.split("?")[0]
        with self.routes.lock:
            self.routes.requests.append((host, path))
            served = self.routes.paths.get((host, path))
        if served is None:
            served = Served(b"not found\n", status=404)
        self.send_response(served.status)
        self.send_header("Content-Type", served.content_type)
        self.send_header("Content-Length", str(len(served.body)))
        self.end_headers()
        self.wfile.write(served.body)

    def log_message(self, format: str, *args: object) -> None:
        return


class WellKnownServer:
    """HTTPS on 127.0.0.1:443 answering ``(host, path)`` pairs set with :meth:`serve`; 404 otherwise.

    :attr:`requests` keeps every (host, path) asked. Entering waits for the machine-wide lock on port 443
    (another atcheck run may hold it) up to :data:`PORT_443_WAIT_S`, then skips the test with the reason.
    """

    def __init__(self, ca: LocalCa) -> None:
        self._ca = ca
        self._routes = _Routes()
        self._lock_file: IO[str] | None = None
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[tuple[str, str]]:
        with self._routes.lock:
            return list(self._routes.requests)

    def serve(self, host: str, path: str, served: Served | None) -> None:
        """Answer GET ``https://<host><path>`` with ``served`` (None: 404 again)."""
        with self._routes.lock:
            if served is None:
                self._routes.paths.pop((host.lower(), path), None)
            else:
                self._routes.paths[(host.lower(), path)] = served

    def __enter__(self) -> WellKnownServer:
        self._take_port_lock()
        handler = type("Handler", (_Handler,), {"routes": self._routes})
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 443), handler)
        except OSError as err:
            self._release()
            pytest.skip(f"cannot serve HTTPS on 127.0.0.1:443 for the well-known checks: {err}")
        server.daemon_threads = True
        server.socket = self._ca.server_context().wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="atcheck-well-known", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._release()

    def _take_port_lock(self) -> None:
        path = cache_root() / "locks" / "well-known-443.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
        deadline = time.monotonic() + PORT_443_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.close()
                    pytest.skip(f"port 443 stayed taken by another atcheck run for {PORT_443_WAIT_S:.0f} s")
                time.sleep(0.5)
        self._lock_file = handle

    def _release(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


# -- pointing a PDS at them ---------------------------------------------------------------------------------


@contextmanager
def pointed_at(
    target: TargetUnderTest,
    *,
    dns: LocalDns | None = None,
    hosts: Mapping[str, str] | None = None,
    ca: LocalCa | None = None,
) -> Iterator[None]:
    """Have the target's PDS resolve through atcheck's servers while inside, and as before after.

    Uses the wrapper's ``POST /atcheck/resolvers`` (admin only): a target declaring the capability
    ``identity.local-resolvers`` serves it. The names in ``hosts`` must be loopback addresses.
    """
    for address in (hosts or {}).values():
        if not ipaddress.ip_address(address).is_loopback:
            raise ValueError(f"{address} is not a loopback address: atcheck's servers bind 127.0.0.1 only")
    password = target.endpoint(Role.PDS).credentials.admin_password
    if not password:
        raise ConformanceFailure("an admin password for the target (to point it at local resolvers)", "none")
    admin = target.client(Role.PDS).with_token(password)
    body: dict[str, object] = {}
    if dns is not None:
        body["dns"] = [dns.address]
    if hosts is not None:
        body["hosts"] = dict(hosts)
    if ca is not None:
        body["ca"] = ca.ca_pem
    expect_ok(admin.request("POST", "/atcheck/resolvers", json=body))
    try:
        yield
    finally:
        admin.request("POST", "/atcheck/resolvers", json={"reset": True})
