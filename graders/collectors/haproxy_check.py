"""`haproxy -c -f CONFIG` -> whether HAProxy accepts its configuration, and its own messages.

HAProxy prints "Configuration file is valid" and exits 0 when it accepts the files; otherwise it exits 1 with
lines like ``[ALERT]    (217) : config : parsing [/etc/haproxy/haproxy.cfg:20] : balance only supports ...``.
Warnings (``[WARNING]``) do not make a configuration invalid, but they are kept: they often say why a
working config does not do what its author meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

_MESSAGE = re.compile(r"^\[(ALERT|WARNING|NOTICE)\]\s*(?:\(\d+\)\s*)?:\s*(?:config\s*:\s*)?(.*)$")
# Summary lines that only repeat that there were errors.
_SUMMARIES = ("Error(s) found in configuration file", "Fatal errors found in configuration")


@dataclass(frozen=True)
class ConfigCheck:
    valid: bool
    alerts: tuple[str, ...]
    warnings: tuple[str, ...]

    def first_problem(self) -> str:
        return self.alerts[0] if self.alerts else ""


def parse(text: str, exit_status: int) -> ConfigCheck:
    alerts, warnings = [], []
    for line in text.splitlines():
        match = _MESSAGE.match(line.strip())
        if not match:
            continue
        level, message = match.groups()
        if level == "ALERT" and not message.startswith(_SUMMARIES):
            alerts.append(message)
        elif level == "WARNING":
            warnings.append(message)
    valid = exit_status == 0 and "Configuration file is valid" in text
    if exit_status == 0 and not valid:
        raise ParseError(f"haproxy -c exited 0 without saying the configuration is valid: {text.strip()[:120]!r}")
    if not valid and not alerts:
        detail = text.strip().splitlines()[-1] if text.strip() else f"exit {exit_status}"
        alerts.append(detail)
    return ConfigCheck(valid, tuple(alerts), tuple(warnings))
