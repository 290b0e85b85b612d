"""`halab fault [LAB] FAULT NODE`: break a lab on purpose, and mend it.

The faults every lab has are in halab/runtime/faults.py (``COMMON_FAULTS``); a lab kind may add its own
(graders/<kind>/__init__.py, ``injections``), such as the drbd lab's split brain. `halab fault --help` lists
every lab's faults, one line each; `halab fault LAB --help` only that lab's.
"""

from __future__ import annotations

from typing import Any

import click

from halab.access import open_lab
from halab.command.terminal import choose_lab, console
from halab.errors import HalabError
from halab.runtime import faults


class FaultCommand(click.Command):
    """A command whose help lists the faults: every lab's, or only the lab named on the command line (help is
    shown before the arguments are read, so the words given are kept to find it)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["fault_words"] = list(args)
        return super().parse_args(ctx, args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from halab.spec import available_labs, load_spec

        words = ctx.meta.get("fault_words", [])
        named = [w for w in words if not w.startswith("-") and w in available_labs()]
        named += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--lab"]
        catalogues: dict[str, dict[str, str]] = {}
        for lab in named[:1] or available_labs():
            try:
                catalogues[lab] = faults.lab_faults(load_spec(lab))
            except HalabError as exc:
                catalogues[lab] = {"(none)": str(exc)}
        if named:
            with formatter.section(f"Faults of lab {named[0]}"):
                formatter.write_dl(list(catalogues[named[0]].items()))
            return
        with formatter.section("Faults of every lab (halab fault LAB --help: one lab's)"):
            rows = []
            for name, text in faults.COMMON_HELP.items():
                without = [lab for lab, catalogue in catalogues.items() if name not in catalogue]
                rows.append((name, text + (f" (not in: {', '.join(without)})" if without else "")))
            formatter.write_dl(rows)
        for lab, catalogue in catalogues.items():
            own = [(name, text) for name, text in catalogue.items() if name not in faults.COMMON_HELP]
            if own:
                with formatter.section(f"Faults of lab {lab} only"):
                    formatter.write_dl(own)


@click.command(cls=FaultCommand)
@click.argument("words", nargs=-1, metavar="[LAB] FAULT NODE")
@click.option("--lab", "lab_option", metavar="LAB", help="The lab, as the first argument gives it.")
@click.option("--daemon", default="corosync", type=click.Choice(faults.CLUSTER_DAEMONS),
              help="kill-daemon: which daemon.")
@click.option("--network", help="cut-link: which lab network (default: the management network).")
def fault(words: tuple[str, ...], lab_option: str | None, daemon: str, network: str | None) -> None:
    """Inject FAULT into NODE of LAB; `restore` undoes every fault halab injected into NODE (a split brain is
    yours to resolve). The faults of each lab are listed below."""
    lab_name, fault_name, node = _words(words, lab_option)
    console.print(open_lab(lab_name).fault(fault_name, node, daemon, network))


def _words(words: tuple[str, ...], lab_option: str | None) -> tuple[str, str, str]:
    """LAB FAULT NODE, or FAULT NODE with --lab LAB."""
    given: list[Any] = list(words)
    if len(given) == 3:
        return str(choose_lab(given[0], lab_option)), given[1], given[2]
    if len(given) == 2 and lab_option:
        return lab_option, given[0], given[1]
    raise click.UsageError("give LAB FAULT NODE (or FAULT NODE with --lab LAB); halab fault LAB --help lists the "
                           "lab's faults")
