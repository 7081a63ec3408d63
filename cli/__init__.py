"""The ``onesource`` command line: one module per command group, assembled here."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli import lakeops, permissions, review, runs, serving

app = typer.Typer(help="OneSource: the data platform of Ichikawa City (市川市, 122033).", no_args_is_help=True,
                  context_settings={"max_content_width": 120},
                  add_completion=False)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at INFO level.")] = False) -> None:
    from core.masking import install_log_scrubbing

    install_log_scrubbing()  # no 個人番号 and no control character in any log line, whoever writes it
    level = logging.INFO if verbose else logging.WARNING
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # the terminal's handler drops what is below the level, also from a library's logger that sets INFO of
        # its own (Dagster's framework messages printed on every run)
        logging.getLogger().handlers[0].setLevel(level)


for group in (runs, lakeops, review, serving, permissions):
    group.register(app)


def plain_help(command) -> None:
    """Help as click writes it, for this command and every subcommand: each docstring's paragraphs wrapped to the
    terminal, no type column. Typer's rich layout printed ``<bool>`` beside every flag and kept the docstrings'
    line breaks, so that sentences broke in the middle."""
    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)


def command():
    """The click command of ``onesource``, with plain help (the console entry point runs it)."""
    cmd = typer.main.get_command(app)
    plain_help(cmd)
    return cmd


def run() -> None:
    """The console entry point. What the lake or its catalog refuses (a data folder moved since the catalog was
    made, a catalog server that is down or says no, a lake another writer holds) is one line on stderr and
    exit status 1, never a traceback: an operator acts on the message, and a traceback could print values."""
    import duckdb

    try:
        command()(prog_name="onesource")
    except duckdb.Error as exc:
        first = next(iter(str(exc).strip().splitlines()), "")
        typer.echo(f"error: the lake refused: {type(exc).__name__}: {first}", err=True)
        raise SystemExit(1) from None
