"""The reference validators atcheck's verdicts are compared with: @atproto/lexicon (Node) and lexrpc (Python).

Both take a batch of ``(nsid, part, value)`` items and return ``(valid, error)`` per item. The Node validator
runs in one long-lived process (``implementations/lexicon-node/validator.mjs``, installed with ``npm ci`` into
the cache from the committed lockfile) and is fed batches over stdin/stdout, one JSON line each way, so ten
thousand records cost one process start, not ten thousand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from atcheck.errors import SetupError
from atcheck.paths import cache_root, implementations_dir

Item = tuple[str, str, Any]
Verdict = tuple[bool, str | None]

NODE_PACKAGE_FILES = ("package.json", "package-lock.json", "validator.mjs")
BATCH = 500
REPLY_TIMEOUT_S = 120.0
INSTALL_TIMEOUT_S = 600.0


class LexrpcValidator:
    """lexrpc's ``Base.validate`` over the given Lexicon documents (its validator is the Python reference)."""

    name = "lexrpc"

    def __init__(self, documents: Iterable[Any]) -> None:
        try:
            from lexrpc.base import Base
        except ImportError:
            raise SetupError("lexrpc is not installed", hint="pip install lexrpc==3.0") from None
        # lexrpc logs every refusal at ERROR; its verdicts are what we want, not its log.
        logging.getLogger("lexrpc").setLevel(logging.CRITICAL)
        self._base = Base(lexicons=list(documents), validate=True)

    @property
    def version(self) -> str:
        from importlib.metadata import version

        return f"lexrpc {version('lexrpc')}"

    def validate(self, items: Sequence[Item]) -> list[Verdict]:
        out: list[Verdict] = []
        for nsid, part, value in items:
            try:
                self._base.validate(nsid, "parameters" if part == "params" else part, value)
                out.append((True, None))
            except (ValueError, NotImplementedError, KeyError, TypeError, AttributeError) as exc:
                out.append((False, f"{type(exc).__name__}: {exc}"))
        return out

    def close(self) -> None:
        pass


def _node_source() -> Path:
    return implementations_dir() / "lexicon-node"


def node_validator_dir() -> Path:
    """Where this checkout's pinned @atproto/lexicon is (or would be) installed: keyed by its lockfile."""
    src = _node_source()
    digest = hashlib.sha256()
    for name in NODE_PACKAGE_FILES:
        path = src / name
        if not path.is_file():
            raise SetupError(f"{path} is missing from the checkout")
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return cache_root() / "lexicon-node" / digest.hexdigest()[:16]


def install_node_validator(node: str) -> Path:
    """Install the pinned @atproto/lexicon into the cache (once per lockfile) and return the folder."""
    src = _node_source()
    dest = node_validator_dir()
    marker = dest / ".installed"
    if marker.is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    for name in NODE_PACKAGE_FILES:
        shutil.copyfile(src / name, dest / name)
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("npm is not installed (needed once to install @atproto/lexicon)")
    env = {**os.environ, "PATH": f"{Path(node).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=dest,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SetupError(f"npm ci in {dest} took longer than {INSTALL_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise SetupError(f"npm ci failed in {dest}: {last[-1] if last else done.returncode}")
    marker.write_text("ok\n")
    return dest


class NodeLexiconValidator:
    """@atproto/lexicon in one long-lived Node 22 process; always :meth:`close` it (or use ``with``)."""

    name = "@atproto/lexicon"

    def __init__(self, documents: Iterable[Any], *, node: str | None = None) -> None:
        if node is None:
            from atcheck.tools import resolve_tool

            node = resolve_tool("node22")
        folder = install_node_validator(node)
        self._proc = subprocess.Popen(
            [node, str(folder / "validator.mjs")],
            cwd=folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            info = self._request({"op": "version"})
            self.version = f"@atproto/lexicon {info['lexicon']} on Node {info['node']}"
            loaded = self._request({"op": "load", "lexicons": list(documents)})
            self.skipped: list[dict[str, str]] = loaded.get("skipped", [])
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise SetupError(f"the @atproto/lexicon process exited: {self._stderr()}") from None
        try:
            line = self._replies.get(timeout=REPLY_TIMEOUT_S)
        except queue.Empty:
            raise SetupError(f"@atproto/lexicon did not answer within {REPLY_TIMEOUT_S:.0f} s") from None
        if line is None:
            raise SetupError(f"the @atproto/lexicon process exited: {self._stderr()}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise SetupError(f"@atproto/lexicon refused a request: {reply.get('error')}")
        return reply

    def _stderr(self) -> str:
        if self._proc.poll() is None or self._proc.stderr is None:
            return "(still running)"
        lines = self._proc.stderr.read().strip().splitlines()
        return lines[-1] if lines else f"exit status {self._proc.returncode}"

    def validate(self, items: Sequence[Item]) -> list[Verdict]:
        out: list[Verdict] = []
        for start in range(0, len(items), BATCH):
            chunk = [{"nsid": n, "part": p, "value": v} for n, p, v in items[start : start + BATCH]]
            reply = self._request({"op": "validate", "items": chunk})
            out.extend((bool(r["valid"]), r.get("error")) for r in reply["results"])
        return out

    def lint(self, documents: Sequence[Any]) -> list[Verdict]:
        """Whether @atproto/lexicon accepts each Lexicon document on its own (``Lexicons.add``)."""
        reply = self._request({"op": "lint", "lexicons": list(documents)})
        return [(bool(r["valid"]), r.get("error")) for r in reply["results"]]

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> NodeLexiconValidator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
