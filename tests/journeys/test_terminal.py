"""Everyone at a terminal: the demo's output reads at a glance, help is clean, nothing is replaced unasked."""

from __future__ import annotations

import re
import subprocess

import pytest
import typer

from tests.support.demo import BIN, Demo
from tests.support.paths import REPO

# what dbt prints per node, and what frameworks print of themselves
DBT_NODE_LINE = re.compile(r"\d+ of \d+ (START|OK|PASS)\b")
FRAMEWORK_NOISE = ("UserWarning", "DeprecationWarning", "warnings.warn", "supersede", "dagster.builtin",
                   "Running with dbt", "Registered adapter")


def test_the_demo_prints_a_summary_not_a_log(built_demo: Demo):
    lines = built_demo.output.splitlines()
    assert len(lines) <= 60, f"{len(lines)} lines:\n" + "\n".join(lines[:80])
    assert "\x1b" not in built_demo.output and "\\x1b" not in built_demo.output  # no colour code, raw or as text
    assert not [line for line in lines if DBT_NODE_LINE.search(line)], "dbt's per-node lines reached the terminal"
    assert not [n for n in FRAMEWORK_NOISE if n in built_demo.output], built_demo.output
    # what the summary must still tell
    for fact in ("rows per layer", "checks:", "person quality vs truth", "onesource ui", "onesource serve"):
        assert fact in built_demo.output, fact
    # the lines dbt did not print went to its log under the home, in full
    log = (built_demo.home / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace")
    assert DBT_NODE_LINE.search(log)


def test_the_demo_does_not_replace_a_lake_unasked(built_demo: Demo):
    before = built_demo.run("releases")
    assert before.returncode == 0 and "release" in before.stdout
    res = built_demo.run("demo")  # stdin is not a terminal: nobody to ask
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--yes" in res.stderr and "Traceback" not in res.stderr
    assert built_demo.run("releases").stdout == before.stdout  # nothing was touched


def _commands(group: typer.Typer, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import typer.main

    out = []
    cmd = typer.main.get_command(group)
    stack = [(path, cmd)]
    while stack:
        p, c = stack.pop()
        out.append(p)
        for name, sub in getattr(c, "commands", {}).items():
            stack.append(((*p, name), sub))
    return sorted(out)


@pytest.mark.parametrize("program", ["onesource", "onesource-simulate"])
def test_help_is_clean_on_every_command(program: str):
    from cli import app
    from simulator.cli import app as simulator_app

    for path in _commands(app if program == "onesource" else simulator_app):
        res = subprocess.run([str(BIN / program), *path, "--help"], capture_output=True, text=True, cwd=REPO,
                             timeout=120, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})
        where = " ".join((program, *path))
        assert res.returncode == 0, where + res.stderr
        assert "<bool>" not in res.stdout, where
        assert "│" not in res.stdout and "╭" not in res.stdout, where  # no boxes to copy commands out of
        # a docstring's sentence is wrapped to the terminal, not broken where the source file broke it
        text = res.stdout.split("Options:")[0]
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip() and not p.lstrip().startswith("Usage")]
        for para in paragraphs[:1]:
            widths = [len(line) for line in para.splitlines()]
            assert all(w >= 40 for w in widths[:-1]), f"{where}: a line of the description ends early:\n{para}"
