"""The lab service's log: bounded, rotated, and only what the service has checked.

It used to print every request's raw fields (up to 64 KiB each) to /run/halab/service.log, on tmpfs, before
they were validated: any user could fill /run, and a newline in a lab name wrote a line of their choosing. Now
the log is a file on disk (service.toml ``[service] log``, default /var/log/halab/service.log, mode 0600),
rotated at ``log_kib`` with ``log_files`` old ones kept (logging's RotatingFileHandler), and a request is
logged only once its fields passed their checks (the caller as the kernel names them, an op of OPS, a lab
name); every line is one line, control characters escaped, and at most LINE characters.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
from pathlib import Path

LINE = 400
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
LOGGER = logging.getLogger("halab.service")


def clean(text: object) -> str:
    """One harmless line: control characters (newlines included) shown as escapes, and a bounded length."""
    line = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return line if len(line) <= LINE else line[:LINE] + "..."


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.msg, record.args = clean(record.getMessage()), None
        record.exc_info = record.exc_text = None  # a traceback is many lines: the message says what failed
        return super().format(record)


def log(message: str) -> None:
    LOGGER.info(message)


def setup(path: Path, kib: int, files: int) -> None:
    """Log to ``path`` from now on; stdout and stderr (where the daemon's start wrote) go to /dev/null, so
    nothing else can grow a file without a bound, and an exception that escapes a thread is logged as one line."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=kib * 1024, backupCount=files)
    os.chmod(path, 0o600)
    handler.setFormatter(_OneLine("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    threading.excepthook = lambda hook: log(f"internal error in a request's thread: {hook.exc_type.__name__}: "
                                            f"{hook.exc_value}")
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(null, fd)
    os.close(null)
