"""The onesource command and the simulator's: --help everywhere, simulate with a summary line, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from simulator.cli import app as simulator_app

runner = CliRunner()
COMMANDS = ["setup", "refresh", "build", "demo", "ui"]


def test_help_on_every_command():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in COMMANDS:
        assert cmd in res.output
        sub = runner.invoke(app, [cmd, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output, cmd


def test_installed_entry_point():
    exe = Path(sys.executable).parent / "onesource"
    if not exe.exists():
        pytest.skip("onesource is not installed in this interpreter's environment")
    res = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "refresh" in res.stdout
    sim = subprocess.run([str(exe.parent / "onesource-simulate"), "--help"], capture_output=True, text=True)
    assert sim.returncode == 0 and "city" in sim.stdout


def test_simulate_prints_a_one_line_summary(tmp_path):
    res = runner.invoke(simulator_app, ["city", "--landing", str(tmp_path / "l"), "--truth", str(tmp_path / "t"),
                              "--residents", "300", "--days", "1", "--seed", "9"])
    assert res.exit_code == 0, res.output
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("simulated 300 residents over 1 days") and "truth" in last
    assert (tmp_path / "t" / "person_truth.csv").exists()


def test_simulate_refuses_a_used_landing_zone(tmp_path):
    (tmp_path / "l").mkdir()
    (tmp_path / "l" / "x").write_text("x")
    res = runner.invoke(simulator_app, ["city", "--landing", str(tmp_path / "l"), "--truth", str(tmp_path / "t")])
    assert res.exit_code == 2
    assert "not empty" in res.output


def test_simulate_reads_a_config_file(tmp_path):
    cfg = tmp_path / "sim.yaml"
    cfg.write_text("residents: 250\ndays: 0\nnoise:\n  fullwidth: 0.0\n", encoding="utf-8")
    res = runner.invoke(simulator_app, ["city", "--landing", str(tmp_path / "l"), "--truth", str(tmp_path / "t"),
                              "--config", str(cfg), "--residents", "250", "--days", "0"])
    assert res.exit_code == 0, res.output
    import json

    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["noise"]["fullwidth"] == 0.0 and manifest["noise"]["fullwidth"]["applied"] == 0


def test_a_lake_that_refuses_is_one_line_not_a_traceback(tmp_path):
    """A home moved after its catalog was made (the catalog remembers the old data folder): the command says so
    in one line and exits 1, with no traceback."""
    import os

    env = {**os.environ, "ONESOURCE_HOME": str(tmp_path / "a"), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys"),
           "ONESOURCE_CATALOG": "sqlite"}  # the SQLite catalog's remembered data folder
    env.pop("ONESOURCE_CATALOG_DSN", None)
    env.pop("ONESOURCE_DATA_PATH", None)
    cmd = [sys.executable, "-m", "cli", "maintain", "--dry-run"]
    assert subprocess.run(cmd, env=env, capture_output=True, text=True).returncode == 0
    (tmp_path / "a").rename(tmp_path / "b")
    res = subprocess.run(cmd, env={**env, "ONESOURCE_HOME": str(tmp_path / "b")}, capture_output=True, text=True)
    assert res.returncode == 1, res.stderr
    assert res.stderr.startswith("error: the lake refused:") and "DATA_PATH" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr + res.stdout and len(res.stderr.strip().splitlines()) == 1, res.stderr


def _options(command, path=()):
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _options(sub, (*path, name))
    else:
        for param in command.params:
            yield path, param


def test_no_number_option_takes_nan_or_infinity():
    """``residents credential --hours nan`` gave a traceback: click's FLOAT takes nan, inf and negatives. Every
    float option of every command goes through a finite parser, and each refuses them as a usage error."""
    import typer

    def unbounded_float(option) -> bool:
        described = getattr(option, "type_descriptor", None)
        return described is not None and described.annotation is float and described.parameter_info.parser is None

    command = typer.main.get_command(app)
    raw = [f"{' '.join(p)} --{o.name}" for p, o in _options(command) if unbounded_float(o)]
    assert not raw, f"float options without a finite parser: {raw}"
    for args in (["residents", "credential", "P000000001", "--hours"], ["clients", "add", "x", "--rate"],
                 ["maintain", "--keep-days"]):
        for bad in ("nan", "inf", "-1", "1e999"):
            res = runner.invoke(app, [*args, bad])
            assert res.exit_code == 2 and "finite number" in res.output, (args, bad, res.output[-500:])
            assert res.exception is None or isinstance(res.exception, SystemExit), (args, bad, res.exception)
