"""Loopback ports: find a free one, check a fixed one."""

from __future__ import annotations

import socket

from atcheck.errors import SetupError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def require_free(port: int, what: str) -> None:
    """Raise SetupError when ``port`` on 127.0.0.1 is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is not "in use"
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            raise SetupError(
                f"port {port} on {LOOPBACK} is in use, {what} cannot start",
                hint="stop what listens there, or let atcheck pick a port",
            ) from None
