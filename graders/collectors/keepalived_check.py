"""`keepalived -t [-f FILE]` (keepalived 2.2's config test) -> whether the configuration is accepted, and why not.

keepalived exits 5 on a configuration error and prints one line per problem, such as
``(/etc/keepalived/keepalived.conf: Line 15) Unknown keyword 'priorityy'`` or ``There are 1 missing '}'s or
extra '{'s``. A missing file is not an error to it (``Config files missing '/etc/...'``, exit 0): here it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LOCATION = re.compile(r"^\((?P<file>[^:)]+): Line (?P<line>\d+)\)\s*(?P<message>.*)$")
# Printed by the grader's command (graders/loadbalancing/commands.py) when keepalived -t killed itself over a
# script_user (keepalived 2.2.7, fixed in 2.2.8) and the file was tested again with script_user root.
SCRIPT_USER_BUG = ("halab: keepalived -t killed itself (exit 143), the keepalived 2.2.7 bug with script_user fixed "
                   "in 2.2.8: tested again with script_user root, and the users it named must exist")


@dataclass(frozen=True)
class ConfigTest:
    valid: bool
    missing: bool  # keepalived found no configuration file at all
    messages: tuple[str, ...]  # each "file:line: problem", or the problem alone when keepalived gives no line
    # keepalived 2.2.7 killed its own test over script_user: the verdict is the second test's (SCRIPT_USER_BUG)
    script_user_bug: bool = False

    def first_problem(self) -> str:
        return self.messages[0] if self.messages else ""


def parse(text: str, exit_status: int) -> ConfigTest:
    messages = []
    bug = SCRIPT_USER_BUG in text
    if bug:  # only the second test speaks for the file; the first one said "Terminated"
        text = text.split(SCRIPT_USER_BUG, 1)[1]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _LOCATION.match(line)
        messages.append(f"{match['file']}:{match['line']}: {match['message']}" if match else line)
    missing = any(m.startswith("Config files missing") for m in messages)
    # keepalived repeats the brace count once per pass over the file: say it once.
    unique = tuple(dict.fromkeys(messages))
    return ConfigTest(exit_status == 0 and not missing, missing, unique, bug)
