"""A simulator of Ichikawa's departmental systems: one true world observed through
eight systems, written as landing zones exactly as ../shared/spec/source-systems.md
describes them, with truth files and a manifest of every injected fault."""

from simulator.config import NoiseRates, SimConfig
from simulator.run import SimulationError, Summary, simulate

__all__ = ["NoiseRates", "SimConfig", "SimulationError", "Summary", "simulate"]
