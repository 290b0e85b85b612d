"""`halab ssh [LAB] NODE [--lab LAB] [-- CMD...]`: a shell on a node, or one command with its exit code."""

from __future__ import annotations

import os
import select
import shlex
import shutil
import sys
import termios
import tty

import click
import paramiko

from halab.access import LabAccess, is_root, lab_names, open_lab
from halab.errors import HalabError
from halab.lab import damaged_labs


def find_lab(node: str, lab_name: str | None) -> LabAccess:
    if lab_name:
        return open_lab(lab_name)
    candidates = [name for name in lab_names(up_only=True) if any(n.name == node for n in open_lab(name).nodes())]
    if not candidates:
        damaged = damaged_labs() if is_root() else {}
        also = f"; damaged: {'; '.join(damaged.values())}" if damaged else ""
        raise HalabError(f"no lab that is up has a node '{node}' (see: halab status){also}")
    if len(candidates) > 1:
        raise HalabError(f"several labs have a node '{node}' ({', '.join(candidates)}); add --lab LAB")
    return open_lab(candidates[0])


def _relay(channel: paramiko.Channel, stdin_fd: int | None) -> int:
    """Copy the channel to our stdout/stderr and our stdin to the channel until the command ends."""
    watch = [channel] + ([stdin_fd] if stdin_fd is not None else [])
    while True:
        readable, _, _ = select.select(watch, [], [], 0.5)
        if channel in readable:
            if channel.recv_ready():
                data = channel.recv(65536)
                os.write(sys.stdout.fileno(), data)
            if channel.recv_stderr_ready():
                os.write(sys.stderr.fileno(), channel.recv_stderr(65536))
        if stdin_fd is not None and stdin_fd in readable:
            data = os.read(stdin_fd, 4096)
            if data:
                channel.sendall(data)
            else:
                channel.shutdown_write()
                watch.remove(stdin_fd)
                stdin_fd = None
        # The end of the output and the exit status, in either order: sshd may send the status before the last
        # bytes (halab/ssh.py read_capped). A channel closed without a status: the connection went.
        drained = not channel.recv_ready() and not channel.recv_stderr_ready()
        if drained and (channel.closed or (channel.eof_received and channel.exit_status_ready())):
            status = channel.recv_exit_status()
            return 255 if status == -1 else status


def _interactive(channel: paramiko.Channel) -> int:
    size = shutil.get_terminal_size()
    channel.get_pty(term=os.environ.get("TERM", "xterm"), width=size.columns, height=size.lines)
    channel.invoke_shell()
    saved = termios.tcgetattr(sys.stdin)
    try:
        tty.setraw(sys.stdin.fileno())
        return _relay(channel, sys.stdin.fileno())
    finally:
        termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)


def lab_first(node: str, command: tuple[str, ...], lab_name: str | None) -> tuple[str, tuple[str, ...], str | None]:
    """`halab ssh LAB NODE ...` as well as `halab ssh NODE --lab LAB ...`: a first word that is a lab's name (no
    node is named like a lab) names the lab, and the next one the node."""
    from halab.spec import available_labs

    if command and (node in available_labs() or node in lab_names()):
        if lab_name and lab_name != node:
            raise click.UsageError(f"two labs given: {node} and --lab {lab_name}")
        return command[0], command[1:], node
    return node, command, lab_name


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("node", metavar="[LAB] NODE")
@click.option("--lab", "lab_name", metavar="LAB", help="The node's lab (needed if several are up), as LAB gives it.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh(node: str, lab_name: str | None, command: tuple[str, ...]) -> None:
    """Open a shell on NODE, or run COMMAND there and exit with its exit code."""
    node, command, lab_name = lab_first(node, command, lab_name)
    lab = find_lab(node, lab_name)
    client = lab.client(node)
    channel = client.get_transport().open_session()  # type: ignore[union-attr]
    if command:
        channel.exec_command(" ".join(shlex.quote(word) for word in command) if len(command) > 1
                             else command[0])
        stdin_fd = None if sys.stdin.isatty() or sys.stdin.closed else sys.stdin.fileno()
        code = _relay(channel, stdin_fd)
    elif sys.stdin.isatty():
        code = _interactive(channel)
    else:
        channel.invoke_shell()
        code = _relay(channel, sys.stdin.fileno())
    lab.close()
    sys.exit(code)
