"""The CLI's lab arguments and fault help, as a student types them (click's CliRunner, no lab needed)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from halab.command import cli as cli_module
from halab.command import fault as fault_command
from halab.command import ssh as ssh_command
from halab.command.terminal import choose_lab
from tests.support.paths import FIXTURES

cli_module._register()  # noqa: SLF001 - the commands, as `halab` registers them
CLI = cli_module.cli


def run(*args: str) -> str:
    result = CliRunner().invoke(CLI, list(args), catch_exceptions=False)
    return result.output


def test_fault_help_lists_every_labs_faults_one_line_each() -> None:
    text = run("fault", "--help")
    assert "Faults of every lab" in text and "restore" in text and "undo every fault halab injected" in text
    assert "kill-daemon" in text and "(not in: loadbalancing)" in text
    for lab, own in (("drbd", "split-brain"), ("infrastructure", "partition"), ("loadbalancing", "kill-haproxy")):
        assert f"Faults of lab {lab} only" in text and own in text


@pytest.mark.parametrize("words", [("loadbalancing", "--help"), ("--lab", "loadbalancing", "--help"),
                                   ("loadbalancing", "kill-haproxy", "--help")])
def test_fault_lab_help_lists_that_labs_faults_only(words: tuple[str, ...]) -> None:
    text = run("fault", *words)
    assert "Faults of lab loadbalancing:" in text
    listed = text.split("Faults of lab loadbalancing:")[1]
    assert "kill-haproxy" in listed and "stop-web" in listed and "restore" in listed
    assert "split-brain" not in listed and "kill-daemon" not in listed  # no cluster stack to kill there


def test_a_lab_is_given_first_or_with_lab_and_both_must_agree() -> None:
    assert choose_lab("clustering", None) == choose_lab(None, "clustering") == "clustering"
    assert choose_lab("clustering", "clustering") == "clustering"
    assert choose_lab(None, None, required=False) is None
    import click

    with pytest.raises(click.UsageError, match="two labs given"):
        choose_lab("clustering", "drbd")
    with pytest.raises(click.UsageError, match="which lab"):
        choose_lab(None, None)
    assert fault_command._words(("drbd", "split-brain", "node2"), None) == ("drbd", "split-brain", "node2")  # noqa: SLF001
    assert fault_command._words(("split-brain", "node2"), "drbd") == ("drbd", "split-brain", "node2")  # noqa: SLF001
    with pytest.raises(click.UsageError):
        fault_command._words(("split-brain", "node2"), None)  # noqa: SLF001


@pytest.mark.parametrize("command", ["status", "check", "up", "down", "solve"])
def test_every_lab_command_takes_lab_as_an_option_too(command: str) -> None:
    assert "--lab LAB" in run(command, "--help")


def test_ssh_takes_the_lab_first_too() -> None:
    assert ssh_command.lab_first("clustering3", ("node3", "crm_mon", "-1"), None) == \
        ("node3", ("crm_mon", "-1"), "clustering3")
    assert ssh_command.lab_first("node3", ("crm_mon",), "clustering3") == ("node3", ("crm_mon",), "clustering3")
    assert ssh_command.lab_first("node1", (), None) == ("node1", (), None)
    import click

    with pytest.raises(click.UsageError, match="two labs given"):
        ssh_command.lab_first("clustering3", ("node3",), "drbd")


@pytest.mark.parametrize("kind", ["clustering", "drbd", "infrastructure", "loadbalancing", "virtualization"])
def test_check_in_80_columns_wraps_hints_and_cuts_nothing_off(kind: str) -> None:
    """`halab check` in an 80-column terminal: rich cut words longer than the feedback column (a resource's
    configfile=..., a handler's path) off with an ellipsis; they are folded onto the next lines instead."""
    import json

    from rich.console import Console

    from graders.grade import evaluate
    from halab.command.terminal import report_table
    from halab.spec import load_spec

    fixtures = sorted((FIXTURES / kind).glob("*.json"))
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115 - closed with the console
    for fixture in fixtures:
        report = evaluate(load_spec(kind), json.loads(fixture.read_text()), unrun_faults_count=False)
        console.print(report_table(report))
        text = console.export_text(clear=True)
        assert "…" not in text, fixture.name
        assert max(len(line) for line in text.splitlines()) <= 80
    console.file.close()


def test_status_values_gives_a_terminal_the_notebook_steps_values() -> None:
    """The walkers without Jupyter found {guest_address}, {guest_config} and {cluster_name} nowhere: a terminal
    gets them from `halab status LAB --values` (root here: slot 0, the spec's own values)."""
    import json

    values = json.loads(run("status", "virtualization", "--values", "--json"))
    assert values["guest_address"] == "10.42.61.50" and values["guest_config"] == "/srv/nas/guest1.xml"
    assert values["nodes"] == "hv1 hv2" and values["cluster_name"]
    table = run("status", "--lab", "dr", "--values")
    assert "sites_a_db_ip" in table and "database_user" in table
