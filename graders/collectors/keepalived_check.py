"""`keepalived -t [-f FILE]` (keepalived 2.2's config test) -> whether the configuration is accepted, and why not.

keepalived exits 5 on a configuration error and prints one line per problem, such as
``(/etc/keepalived/keepalived.conf: Line 15) Unknown keyword 'priorityy'`` or ``There are 1 missing '}'s or
extra '{'s``. A missing file is not an error to it (``Config files missing '/etc/...'``, exit 0): here it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LOCATION = re.compile(r"^\((?P<file>[^:)]+): Line (?P<line>\d+)\)\s*(?P<message>.*)$")


@dataclass(frozen=True)
class ConfigTest:
    valid: bool
    missing: bool  # keepalived found no configuration file at all
    messages: tuple[str, ...]  # each "file:line: problem", or the problem alone when keepalived gives no line

    def first_problem(self) -> str:
        return self.messages[0] if self.messages else ""


def parse(text: str, exit_status: int) -> ConfigTest:
    messages = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _LOCATION.match(line)
        messages.append(f"{match['file']}:{match['line']}: {match['message']}" if match else line)
    missing = any(m.startswith("Config files missing") for m in messages)
    # keepalived repeats the brace count once per pass over the file: say it once.
    unique = tuple(dict.fromkeys(messages))
    return ConfigTest(exit_status == 0 and not missing, missing, unique)
