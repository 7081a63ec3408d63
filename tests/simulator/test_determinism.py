"""The same seed gives the same city, byte for byte, whatever the process; the simulator refuses to overwrite."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from simulator import SimConfig, SimulationError, simulate
from tests.support.commands import simulate_cli


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output(tmp_path):
    cfg = SimConfig(residents=800, days=3, seed=5)
    simulate(tmp_path / "a" / "landing", tmp_path / "a" / "truth", cfg)
    simulate(tmp_path / "b" / "landing", tmp_path / "b" / "truth", cfg)
    a, b = _tree_digest(tmp_path / "a"), _tree_digest(tmp_path / "b")
    assert a == b and len(a) > 20
    simulate(tmp_path / "c" / "landing", tmp_path / "c" / "truth", cfg.model_copy(update={"seed": 6}))
    assert _tree_digest(tmp_path / "c") != a


def test_refuses_to_overwrite_or_mix_truth_into_landing(tmp_path):
    cfg = SimConfig(residents=100, days=0)
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "old.csv").write_text("x")
    with pytest.raises(SimulationError, match="not empty"):
        simulate(tmp_path / "landing", tmp_path / "truth", cfg)
    with pytest.raises(SimulationError, match="must not be inside"):
        simulate(tmp_path / "l2", tmp_path / "l2" / "truth", cfg)


def test_same_seed_identical_across_processes_and_hash_seeds(tmp_path):
    """Nothing may depend on Python's per-process string hashing or the wall clock."""
    import os

    digests = []
    for hash_seed in ("1", "2"):
        root = tmp_path / hash_seed
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = simulate_cli("--landing", str(root / "landing"), "--truth", str(root / "truth"), "--residents", "700",
                            "--days", "2", "--seed", "13", env=env)
        assert done.returncode == 0, done.stderr
        digests.append(_tree_digest(root))
    assert digests[0] == digests[1]
