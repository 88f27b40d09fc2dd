"""The sd_notify protocol without a dependency: readiness, stopping, watchdog pings.

systemd (``Type=notify``) passes ``$NOTIFY_SOCKET``: a unix datagram socket path, or an
abstract-namespace name written with a leading ``@``.  Without the variable (not under
systemd, or in tests) every call is a no-op that returns False.  ``$WATCHDOG_USEC`` is the
watchdog timeout; we ping at half of it, as sd_watchdog_enabled(3) recommends.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, several lines allowed); True when it was sent."""
    environ = os.environ if environ is None else environ
    path = environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    if path.startswith("@"):
        address = "\0" + path[1:]
    elif path.startswith("/"):
        address = path
    else:
        log.warning("NOTIFY_SOCKET of an unsupported kind; systemd notifications are off",
                    extra={"notify_socket": path})
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        log.warning("could not notify systemd", extra={"error": f"{type(exc).__name__}: {exc.strerror}"})
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between watchdog pings (half of ``$WATCHDOG_USEC``), or None when the watchdog is off
    or meant for another process (``$WATCHDOG_PID``)."""
    environ = os.environ if environ is None else environ
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 2 / 1_000_000


def ready(status: str = "", environ: Mapping[str, str] | None = None) -> bool:
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""), environ)


def stopping(status: str = "", environ: Mapping[str, str] | None = None) -> bool:
    return notify("STOPPING=1" + (f"\nSTATUS={status}" if status else ""), environ)


def watchdog_ping(environ: Mapping[str, str] | None = None) -> bool:
    return notify("WATCHDOG=1", environ)


def status(text: str, environ: Mapping[str, str] | None = None) -> bool:
    return notify(f"STATUS={text}", environ)
