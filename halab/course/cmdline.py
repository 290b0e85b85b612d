"""Fill-in answers compared by meaning, not by spelling: a small canonicaliser for command lines.

A candidate who types `crm_verify -VL`, `sudo crm_verify --live-check -V` or `/usr/sbin/crm_verify -L` gives
the same answer as the key `crm_verify -L`. A command line is split as the shell would (shlex), a leading
`sudo` and the directory of the command are dropped, and, for commands with an option table
(halab.course.cmdtables), every option is brought to one spelling: bundled short options are split (`-nL` is
`-n -L`), long names become their short form (`--live-check` is `-L`), `--name=value`, `--name value` and
`-xvalue` are the same, order does not matter, an option that only repeats (`-VV`) counts once, and options
that change nothing the question asks about (verbosity) are left out. Positional arguments keep their order:
`crm configure group websvc vip web` is not `... web vip`.

Commands without a table are compared token by token after the same clean-up, so an unknown command is
matched exactly, never guessed at. Anything that is not a command line (a term, a file path, a `key: value`
line) is compared as text: see text_key.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from halab.course.cmdtables import TABLES

BLANK = "___"
Token = tuple[str, str | None]  # an option's canonical name and its value (None for a flag)


@dataclass(frozen=True)
class Option:
    """One option of a command: its names (the first is the canonical one) and how it takes a value."""

    names: tuple[str, ...]
    value: str = ""  # "" a flag, "=" needs a value, "?" may take one (only when attached or not an option)
    repeat: bool = False  # -VV is -V: saying it again changes nothing
    harmless: bool = False  # verbosity and the like: present or not, it is the same answer


@dataclass(frozen=True)
class Key:
    """A command line in canonical form: what two answers must share to be the same answer."""

    command: str
    options: tuple[Token, ...]
    positional: tuple[str, ...]


NOBUNDLE = "nobundle"


def parse_table(spec: str) -> dict[str, Option]:
    """Options from the compact notation of cmdtables: `-L/--live-check -V/--verbose+~ -x/--xml-file=`.

    Each word is one option, its names separated by '/'; a suffix '=' means it needs a value, '?' that it may
    take one, '+' that repeating it counts once, '~' that it is harmless (left out of the comparison)."""
    table: dict[str, Option] = {}
    for word in spec.split():
        if word == NOBUNDLE:
            continue
        flags = re.search(r"[=?+~]*$", word)
        suffix = flags.group(0) if flags else ""
        names = tuple(n for n in word[: len(word) - len(suffix)].split("/") if n)
        if not names or not all(n.startswith("-") for n in names):
            raise ValueError(f"bad option spec {word!r}: names must start with '-'")
        value = "=" if "=" in suffix else "?" if "?" in suffix else ""
        option = Option(names, value, "+" in suffix or "~" in suffix, "~" in suffix)
        for name in names:
            if name in table:
                raise ValueError(f"option {name} is declared twice")
            table[name] = option
    return table


_PARSED: dict[str, dict[str, Option]] = {}


def bundles(command: str) -> bool:
    """Whether the command reads `-abc` as `-a -b -c` (getopt does; HAProxy does not)."""
    return NOBUNDLE not in TABLES.get(command, "").split()[:1]


def table_for(command: str) -> dict[str, Option] | None:
    if command not in TABLES:
        return None
    if command not in _PARSED:
        _PARSED[command] = parse_table(TABLES[command])
    return _PARSED[command]


def split(text: str) -> list[str]:
    """Shell words, with quotes removed; text with unbalanced quotes is split on blanks."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def command_words(text: str) -> list[str]:
    """The words of a command line without a leading `sudo` and without the command's directory."""
    words = split(text)
    while words and words[0] == "sudo":
        words = words[1:]
    if words and "/" in words[0] and not words[0].endswith("/"):
        words[0] = words[0].rsplit("/", 1)[1]
    return words


def is_command(text: str) -> bool:
    """Whether text reads as a command line of a known command (the first word, as typed or by path)."""
    words = command_words(text)
    return bool(words) and words[0] in TABLES


def canonical(text: str) -> Key:
    """The canonical form of a command line (see the module docstring)."""
    words = command_words(text)
    if not words:
        return Key("", (), ())
    command, rest = words[0], words[1:]
    table = table_for(command)
    if table is None:
        return Key(command, (), tuple(rest))
    options: list[Token] = []
    positional: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        index += 1
        if word == "--":
            positional.extend(rest[index:])
            break
        if word.startswith("--"):
            index = _long(word, rest, index, table, options)
        elif word.startswith("-") and len(word) > 1 and (word[:2] in table or not _is_number(word)):
            index = _short(word, rest, index, table, options, bundles(command))
        else:
            positional.append(word)
    seen: set[Token] = set()
    kept = []
    for token in options:
        option = table.get(token[0])
        if option is not None and option.harmless:
            continue
        if option is not None and option.repeat and token in seen:
            continue
        seen.add(token)
        kept.append(token)
    return Key(command, tuple(sorted(kept, key=lambda t: (t[0], t[1] or ""))), tuple(positional))


def _long(word: str, rest: list[str], index: int, table: dict[str, Option], out: list[Token]) -> int:
    name, has_value, value = word.partition("=")
    option = table.get(name)
    if option is None:
        out.append((word, None))  # unknown: kept as typed, so it only matches itself
        return index
    if has_value:
        out.append((option.names[0], value))
    elif _takes_next(option, rest, index):
        out.append((option.names[0], rest[index]))
        index += 1
    else:
        out.append((option.names[0], None))
    return index


def _short(word: str, rest: list[str], index: int, table: dict[str, Option], out: list[Token],
           bundling: bool = True) -> int:
    whole = table.get(word)
    if whole is not None and (len(word) > 2 or not bundling):
        # a known word as a whole: -vv, -db, -sf (or any option of a command that does not bundle)
        if _takes_next(whole, rest, index):
            out.append((whole.names[0], rest[index]))
            return index + 1
        out.append((whole.names[0], None))
        return index
    if not bundling:
        out.append((word, None))  # e.g. haproxy -cf: not an option haproxy knows
        return index
    letters = word[1:]
    for position, letter in enumerate(letters):
        name = f"-{letter}"
        option = table.get(name)
        if option is None:
            out.append((word, None))  # an unknown letter: the whole word is kept as typed
            return index
        attached = letters[position + 1 :]
        if option.value and attached:
            out.append((option.names[0], attached.removeprefix("=")))
            return index
        if _takes_next(option, rest, index):
            out.append((option.names[0], rest[index]))
            return index + 1
        out.append((option.names[0], None))
    return index


def _takes_next(option: Option, rest: list[str], index: int) -> bool:
    """Whether the next word is the option's value: always when it needs one, when it may take one only if
    the next word is not itself an option."""
    if index >= len(rest) or not option.value:
        return False
    return option.value == "=" or not rest[index].startswith("-")


def _is_number(word: str) -> bool:
    return bool(re.fullmatch(r"-\d+(\.\d+)?", word))


def fill_template(answer: str, template: str) -> str:
    """The full command line for an answer typed into a blank: `-g` in `corosync-cmapctl ___ key`. An answer
    that already starts with the template's command (with or without sudo and path) is taken as it is."""
    if not template:
        return answer
    words = command_words(answer)
    template_words = command_words(template)
    if words and template_words and words[0] == template_words[0]:
        return answer
    return template.replace(BLANK, answer, 1) if BLANK in template else f"{template} {answer}"


def text_key(text: str, case_sensitive: bool = True) -> str:
    """A non-command answer as compared: single spaces, and `key: value` / `key=value` spelt one way."""
    text = " ".join(text.split())
    text = re.sub(r"\s*:\s*", ": ", text).rstrip()
    text = re.sub(r"\s*=\s*", "=", text)
    return text if case_sensitive else text.casefold()
