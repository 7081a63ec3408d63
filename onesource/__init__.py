"""OneSource: the data platform of Ichikawa City (市川市, 全国地方公共団体コード 122033)."""

__version__ = "0.1.0"
