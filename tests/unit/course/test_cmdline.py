"""The fill-in canonicaliser: command lines compared by meaning (halab.course.cmdline, halab.course.fillin)."""

from __future__ import annotations

import pytest

from halab.course import cmdtables
from halab.course.cmdline import Key, canonical, command_words, fill_template, is_command, parse_table, text_key
from halab.course.fillin import answer_key, same, strip_decoration


@pytest.mark.parametrize("a, b", [
    ("crm_verify -L -V", "crm_verify -VL"),  # bundled short options
    ("crm_verify -L", "crm_verify --live-check -VV"),  # long name, repeated harmless verbosity
    ("crm_verify -L", "sudo /usr/sbin/crm_verify -L"),  # sudo and a full path
    ("ipvsadm -L -n", "ipvsadm -nl"),  # order, and -l as a second short name
    ("ipvsadm -L -n", "ipvsadm --numeric --list"),
    ("stonith_admin -B node2", "stonith_admin --reboot=node2"),  # --name=value
    ("stonith_admin -B node2", "stonith_admin -Bnode2"),  # a value attached to a short option
    ("crm_resource -U -r web", "crm_resource --resource web --clear"),
    ("crm_mon -1 --output-as=xml", "crm_mon --output-as xml -1"),
    ("corosync-cmapctl -q -g key", "corosync-cmapctl -gq key"),  # modes are flags, the key positional
    ("haproxy -c -f /etc/haproxy/haproxy.cfg", "haproxy -f /etc/haproxy/haproxy.cfg -c -V"),
    ("crm configure group g a b", "crm configure group 'g' a b"),  # shell quoting
    ("crm_mon -1", "crm_mon -1 -V"),
])  # fmt: skip
def test_the_same_command_written_differently(a: str, b: str) -> None:
    assert canonical(a) == canonical(b)


@pytest.mark.parametrize("a, b", [
    ("crm_verify -L", "crm_verify -l"),  # case matters in options
    ("crm configure group g a b", "crm configure group g b a"),  # positional order matters
    ("haproxy -c -f x.cfg", "haproxy -cf x.cfg"),  # HAProxy does not bundle: -cf is not -c -f
    ("stonith_admin -B node2", "stonith_admin -B node1"),
    ("ipvsadm -L -n", "ipvsadm -L"),
    ("crm_mon -1", "crm_mon -1 -X"),
    ("corosync-cmapctl -g key", "corosync-cmapctl -q -g key"),
    ("crm_verify -L", "crm_verify -L --bogus"),  # unknown options are kept, so they only match themselves
    ("systemctl reload corosync", "systemctl restart corosync"),  # no table: word by word
])  # fmt: skip
def test_different_answers_stay_different(a: str, b: str) -> None:
    assert canonical(a) != canonical(b)


def test_canonical_form() -> None:
    assert canonical("sudo crm_verify -VL") == Key("crm_verify", (("-L", None),), ())
    assert canonical("crm_mon -1") == Key("crm_mon", (("-1", None),), ())  # -1 is an option, not a number
    assert canonical("ipvsadm -A -t 10.0.0.1:80 -p") == Key("ipvsadm", (("-A", None), ("-p", None),
                                                                         ("-t", "10.0.0.1:80")), ())
    assert canonical("ipvsadm -A -t 10.0.0.1:80 -p 600").options[1] == ("-p", "600")  # an optional value
    assert canonical("drbdadm -- --discard-my-data connect r0").positional == ("--discard-my-data", "connect", "r0")
    assert canonical("") == Key("", (), ())
    assert canonical("crm_mon -1 '") == canonical("crm_mon -1 '")  # unbalanced quotes: split on blanks
    assert canonical("haproxy -vv").options == (("-vv", None),)  # a known multi-letter word stays whole


def test_words_and_known_commands() -> None:
    assert command_words("sudo sudo /usr/sbin/pcs status") == ["pcs", "status"]
    assert is_command("/usr/sbin/crm_mon -1") and not is_command("/etc/corosync/authkey")
    assert not is_command("two_node: 1") and not is_command("")


def test_templates_and_text() -> None:
    assert fill_template("-g", "corosync-cmapctl ___ key") == "corosync-cmapctl -g key"
    assert fill_template("corosync-cmapctl -q -g key", "corosync-cmapctl ___ key") == "corosync-cmapctl -q -g key"
    assert fill_template("-k", "corosync-keygen") == "corosync-keygen -k"
    assert fill_template("x", "") == "x"
    assert text_key("two_node : 1") == text_key("two_node:1") == "two_node: 1"
    assert text_key("a = b") == "a=b" and text_key("RPO", case_sensitive=False) == "rpo"
    assert strip_decoration("  `# crm_mon -1`  ") == "crm_mon -1" and strip_decoration("'$ ls  -l'") == "ls -l"


def test_an_option_asked_without_its_value_matches_any_value() -> None:
    """"Which option writes the key elsewhere?" -k: typing -k with a file name is the same answer."""
    expected = answer_key("-k", "corosync-keygen ___")
    assert same(answer_key("corosync-keygen -k /root/key", "corosync-keygen ___"), expected)
    assert same(answer_key("--key-file", "corosync-keygen ___"), expected)
    assert not same(answer_key("-r", "corosync-keygen ___"), expected)
    assert not same(answer_key("-k /root/key -l", "corosync-keygen ___"), expected)  # nothing more
    assert not same(answer_key("stonith_admin -B node1"), answer_key("stonith_admin -B node2"))
    assert same(answer_key("RPO", case_sensitive=False), answer_key("rpo", case_sensitive=False))


@pytest.mark.parametrize("spec, words", [
    ("L/--live", "must start with '-'"),
    ("-L -L", "declared twice"),
    ("", None),
])  # fmt: skip
def test_option_table_notation(spec: str, words: str | None) -> None:
    if words is None:
        assert parse_table(spec) == {}
        return
    with pytest.raises(ValueError, match=words):
        parse_table(spec)


def test_every_option_table_parses_and_names_options() -> None:
    for command, spec in cmdtables.TABLES.items():
        table = parse_table(spec)
        assert table, command
        assert all(name.startswith("-") for name in table), command
