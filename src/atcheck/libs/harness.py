"""The client side of the library harness protocol (see ``PROTOCOL.md`` beside this module).

Why a reader thread: every read must have a timeout, and a pipe read has none; a thread moves stdout lines
into a queue, which does. It also lets atcheck pipeline requests (write a batch, then collect the answers by
``id``) without the pipe buffers deadlocking, which is what makes thousands of cases cost seconds.

Anything the harness does wrong (exits, writes a non-JSON line, answers an unknown ``id`` or with no verdict,
stays silent past the timeout) raises :class:`HarnessBroke` with one line that names the harness: tests of
that target are then errors, never verdicts about the library.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from atcheck.errors import LaunchError

PROTOCOL_VERSION = 1
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0
_SHOWN = 200  # characters of a bad line quoted in an error
_EOF = object()


class HarnessBroke(LaunchError):
    """The harness process broke the protocol: died, wrote garbage, or did not answer in time.

    ``answered`` holds the answers of a batch's first requests that did come back, in order: the request
    after them is the one the harness broke on (it answers in order, one at a time).
    """

    answered: list[Answer]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.answered = []


@dataclass(frozen=True)
class Answer:
    """One answer: ``result`` (with its value), ``unsupported``, or ``error`` (the library's message)."""

    kind: Literal["result", "unsupported", "error"]
    value: Any = None  # the result, or the error message

    @property
    def accepted(self) -> bool:
        """For a validity op: the library said yes (a ``true`` result, or any result of a decode)."""
        return self.kind == "result" and self.value is not False

    def describe(self) -> str:
        if self.kind == "unsupported":
            return "unsupported"
        if self.kind == "error":
            return f"error: {str(self.value)[:_SHOWN]}"
        return f"result: {json.dumps(self.value)[:_SHOWN]}"


@dataclass(frozen=True)
class Request:
    op: str
    args: Mapping[str, Any]


class Harness:
    """A started harness process that has answered ``start``.

    ``name`` is how errors name it (the target's run name). ``stderr`` is where the harness's stderr goes
    (the target's log file); the process runs in its own session so it can be stopped as a group.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stderr: IO[bytes] | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.request_timeout_s = request_timeout_s
        self._next_id = 0
        self._lines: queue.Queue[object] = queue.Queue()
        self._early: dict[int, Answer] = {}
        try:
            self.process = subprocess.Popen(
                list(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr if stderr is not None else subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise LaunchError(f"harness {name}: cannot run {command[0]!r}: {exc.strerror}") from None
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()
        self.implementation: dict[str, Any] = {}
        try:
            self.implementation = self._start(start_timeout_s)
        except BaseException:
            self.close()
            raise

    # -- the reader --------------------------------------------------------------------------------------

    def _read(self, stream: IO[bytes]) -> None:
        try:
            for line in stream:
                self._lines.put(line)
        except (OSError, ValueError):
            pass
        self._lines.put(_EOF)

    def _line(self, timeout_s: float, waiting_for: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise HarnessBroke(
                f"harness {self.name} did not answer {waiting_for} within {timeout_s:g} s"
            ) from None
        if line is _EOF:
            self._lines.put(_EOF)  # every later read sees the end too
            raise HarnessBroke(
                f"harness {self.name} exited while atcheck waited for {waiting_for}{self._exit()}"
            )
        assert isinstance(line, bytes)
        try:
            message = json.loads(line)
        except ValueError:
            raise HarnessBroke(
                f"harness {self.name} wrote a line that is not JSON while atcheck waited for {waiting_for}: "
                f"{line[:_SHOWN]!r}"
            ) from None
        if not isinstance(message, dict):
            raise HarnessBroke(f"harness {self.name} wrote a JSON {type(message).__name__}, not an object")
        return message

    def _exit(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return ""
        return f" (exit code {code})"

    # -- the protocol ------------------------------------------------------------------------------------

    def _send(self, message: Mapping[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise HarnessBroke(f"harness {self.name} stopped reading its input{self._exit()}") from None

    def _start(self, timeout_s: float) -> dict[str, Any]:
        self._send({"cmd": "start", "version": PROTOCOL_VERSION})
        message = self._line(timeout_s, "its start answer")
        if message.get("ready") is not True:
            reason = message.get("reason") or f"its start answer was {json.dumps(message)[:_SHOWN]}"
            raise LaunchError(f"harness {self.name} is not ready: {reason}")
        implementation = message.get("implementation")
        if not isinstance(implementation, dict):
            raise HarnessBroke(f"harness {self.name}: its start answer has no implementation object")
        return implementation

    def request(self, op: str, args: Mapping[str, Any]) -> Answer:
        """Send one request and wait for its answer."""
        return self.batch([Request(op, args)])[0]

    def batch(self, requests: Iterable[Request]) -> list[Answer]:
        """Send every request, then collect the answers (in the requests' order).

        The timeout is per answer: each must arrive within ``request_timeout_s`` of the previous one.
        """
        ids: list[int] = []
        for req in requests:
            self._next_id += 1
            ids.append(self._next_id)
            self._send({"id": self._next_id, "op": req.op, "args": dict(req.args)})
        wanted = set(ids)
        found: dict[int, Answer] = {}
        for i in ids:
            if i in self._early:
                found[i] = self._early.pop(i)
        try:
            self._collect(ids, wanted, found)
        except HarnessBroke as exc:
            for i in ids:
                if i not in found:
                    break
                exc.answered.append(found[i])
            raise
        return [found[i] for i in ids]

    def _collect(self, ids: list[int], wanted: set[int], found: dict[int, Answer]) -> None:
        while len(found) < len(ids):
            message = self._line(self.request_timeout_s, f"request {min(wanted - set(found))}")
            answer_id = message.get("id")
            if not isinstance(answer_id, int) or answer_id > self._next_id or answer_id < 1:
                raise HarnessBroke(
                    f"harness {self.name} answered an unknown id: {json.dumps(message)[:_SHOWN]}"
                )
            answer = _answer(message, self.name)
            if answer_id in wanted:
                found[answer_id] = answer
            else:
                self._early[answer_id] = answer

    # -- lifetime ----------------------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, grace_s: float = 3.0) -> None:
        """Ask the harness to stop, then stop its process group. Never raises; safe to call twice."""
        if self.process.poll() is None:
            try:
                self._send({"cmd": "stop"})
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=grace_s)
            except (HarnessBroke, OSError, ValueError, subprocess.TimeoutExpired):
                pass
        _stop_group(self.process)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _answer(message: Mapping[str, Any], name: str) -> Answer:
    if "result" in message:
        return Answer("result", message["result"])
    if message.get("unsupported") is True:
        return Answer("unsupported")
    if "error" in message:
        return Answer("error", str(message["error"]))
    raise HarnessBroke(
        f"harness {name} answered with none of result, unsupported, error: {json.dumps(message)[:_SHOWN]}"
    )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, the harness's process group (it runs in a session of its own)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever of the group outlived the leader
        return


def open_log(path: Path) -> IO[bytes]:
    """The harness's stderr file (appended to, so a restarted harness keeps the earlier output)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


def base_env() -> dict[str, str]:
    """What a harness gets: our environment (it needs no network; proxies are dropped all the same)."""
    return {
        k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
