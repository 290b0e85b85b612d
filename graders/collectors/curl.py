"""`curl -w FORMAT` lines from the lab's client -> one Reply per HTTP request.

The graders ask curl (7.84 or later, for ``%header{}``) to print one line per request, with what the lab's
web application says about itself in its X-Halab-* headers::

    halab-request code=200 server=web1 count=3 session=3f2a... source=10.42.50.31 seconds=0.012 error=

``code=000`` and an ``error=`` text (curl's own message) when no answer came at all. Other lines (a shell's
complaint, say) are ignored; a line that starts like a reply but is garbled is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

MARKER = "halab-request"
# The -w format that prints the lines this module reads (curl fills in each %{...}).
WRITE_OUT = (MARKER + " code=%{http_code} server=%header{x-halab-server} count=%header{x-halab-count} "
             "session=%header{x-halab-session} source=%{local_ip} seconds=%{time_total} error=%{errormsg}\\n")
_LINE = re.compile(MARKER + r" code=(?P<code>\d{3}) server=(?P<server>\S*) count=(?P<count>\S*) "
                   r"session=(?P<session>\S*) source=(?P<source>\S*) seconds=(?P<seconds>[\d.]+) error=(?P<error>.*)$")


@dataclass(frozen=True)
class Reply:
    code: int  # 0: no HTTP answer
    server: str  # the X-Halab-Server header: which web server answered
    count: int | None  # the X-Halab-Count header: this request's number in its session on that server
    session: str
    source: str  # the client address the request came from
    seconds: float
    error: str

    @property
    def ok(self) -> bool:
        return self.code == 200 and bool(self.server)

    def describe(self) -> str:
        if self.ok:
            return f"{self.server} (request {self.count} of its session)" if self.count else self.server
        if self.code:
            return f"HTTP {self.code}" + (" without the application's X-Halab-Server header" if self.code == 200
                                          else "")
        # curl says how long it waited ("after 1043 ms"): without it, the same failure reads the same.
        return re.sub(r" after \d+ (ms|milliseconds)", "", self.error) or "no answer"


def parse(text: str) -> list[Reply]:
    replies = []
    for line in text.splitlines():
        if not line.startswith(MARKER):
            continue
        match = _LINE.match(line.rstrip())
        if not match:
            raise ParseError(f"a garbled request line: {line[:80]!r}")
        count = match["count"]
        replies.append(Reply(int(match["code"]), match["server"], int(count) if count.isdigit() else None,
                             match["session"], match["source"], float(match["seconds"]), match["error"].strip()))
    return replies
