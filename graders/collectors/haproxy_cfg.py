"""HAProxy's configuration files, as the service loads them -> its proxies with their effective settings.

The command prints every file the service reads (``-f`` may name a file or a directory of ``*.cfg``) after a
marker line ``### halab-file: PATH``. HAProxy's syntax is line based: a section keyword (``global``,
``defaults``, ``frontend``, ``backend``, ``listen``, ...) opens a section that runs until the next one; ``#``
starts a comment. A proxy inherits from the ``defaults`` section before it (or the one it names with
``from``): ``balance``, ``cookie``, ``option httpchk`` and ``default-server`` may live there.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from graders.collectors import ParseError

FILE_MARKER = "### halab-file: "
SECTIONS = {"global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist", "mailers",
            "program", "http-errors", "ring", "cache", "fcgi-app", "crt-store", "traces"}
PROXIES = ("frontend", "backend", "listen")
# Keywords a proxy takes from its defaults section when it does not set them itself.
INHERITED = ("balance", "cookie", "hash-type", "option httpchk", "default-server", "mode", "retries",
             "option redispatch", "default_backend")


@dataclass(frozen=True)
class Line:
    words: tuple[str, ...]
    file: str
    number: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"


@dataclass
class Section:
    kind: str
    name: str
    header: Line
    lines: list[Line] = field(default_factory=list)
    parent: Section | None = None  # the defaults section this proxy inherits from

    def own(self, *keyword: str) -> list[Line]:
        """This section's lines that start with the keyword (one or more words: "option", "httpchk")."""
        return [line for line in self.lines if line.words[:len(keyword)] == keyword]

    def effective(self, *keyword: str) -> list[Line]:
        """Lines of this section, or of its defaults when it has none of its own."""
        found = self.own(*keyword)
        if found or self.parent is None or " ".join(keyword) not in INHERITED:
            return found
        return self.parent.effective(*keyword)

    def last(self, *keyword: str) -> Line | None:
        found = self.effective(*keyword)
        return found[-1] if found else None


@dataclass(frozen=True)
class Server:
    name: str
    address: str  # as written: an address or a host name, without the port
    port: str
    options: tuple[str, ...]  # the server line's own keywords, default-server ones first
    line: Line

    def has(self, keyword: str) -> bool:
        return keyword in self.options

    def value(self, keyword: str) -> str | None:
        for index, word in enumerate(self.options[:-1]):
            if word == keyword:
                return self.options[index + 1]
        return None


@dataclass
class HaproxyConfig:
    files: list[str]
    sections: list[Section]

    def proxies(self, *kinds: str) -> list[Section]:
        return [s for s in self.sections if s.kind in (kinds or PROXIES)]

    def proxy(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.kind in ("backend", "listen") and s.name == name), None)

    def global_lines(self, *keyword: str) -> list[Line]:
        return [line for s in self.sections if s.kind == "global" for line in s.own(*keyword)]

    def servers(self, proxy: Section) -> list[Server]:
        defaults = tuple(w for line in proxy.effective("default-server") for w in line.words[1:])
        servers = []
        for line in proxy.own("server"):
            if len(line.words) < 3:
                continue
            address, port = split_address(line.words[2])
            servers.append(Server(line.words[1], address, port, defaults + line.words[3:], line))
        return servers

    def backend_of(self, frontend: Section) -> Section | None:
        """The proxy that serves a frontend's requests: itself for a listen section, else its default_backend
        (or its first use_backend)."""
        if frontend.kind == "listen":
            return frontend
        line = frontend.last("default_backend") or next(iter(frontend.own("use_backend")), None)
        return self.proxy(line.words[1]) if line and len(line.words) > 1 else None


def split_address(text: str) -> tuple[str, str]:
    """'10.0.0.1:80' -> ('10.0.0.1', '80'); 'ipv4@web1:80' -> ('web1', '80'); ':80' -> ('', '80')."""
    text = text.split("@", 1)[-1]
    if text.startswith("["):  # [::1]:80
        host, _, port = text[1:].partition("]")
        return host, port.lstrip(":")
    host, sep, port = text.rpartition(":")
    return (host, port) if sep else (text, "")


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True, posix=True)
    except ValueError:  # an unbalanced quote: haproxy -c reports it; keep the plain words here
        return text.split("#", 1)[0].split()


def _files(text: str) -> list[tuple[str, list[str]]]:
    files: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        if raw.startswith(FILE_MARKER):
            files.append((raw[len(FILE_MARKER):].strip(), []))
        elif files:
            files[-1][1].append(raw)
        elif raw.strip():
            raise ParseError("the configuration listing does not start with a file marker")
    return files


def parse(text: str) -> HaproxyConfig:
    if "\x00" in text:
        raise ParseError("the configuration is binary, not HAProxy's text format")
    files = _files(text)
    if not files:
        raise ParseError("no configuration file was listed")
    sections: list[Section] = []
    named_defaults: dict[str, Section] = {}
    last_defaults: Section | None = None
    for path, lines in files:
        for number, raw in enumerate(lines, start=1):
            words = _words(raw)
            if not words:
                continue
            line = Line(tuple(words), path, number)
            if words[0] in SECTIONS:
                name = words[1] if len(words) > 1 and words[1] != "from" else ""
                section = Section(words[0], name, line)
                if section.kind in PROXIES:
                    source = re.search(r"\bfrom\s+(\S+)", raw)
                    section.parent = named_defaults.get(source.group(1)) if source else last_defaults
                elif section.kind == "defaults":
                    last_defaults = section
                    if name:
                        named_defaults[name] = section
                sections.append(section)
            elif sections:
                sections[-1].lines.append(line)
    return HaproxyConfig([path for path, _ in files], sections)
