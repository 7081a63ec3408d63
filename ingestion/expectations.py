"""Great Expectations suites generated from the data contracts, run on every batch.

GE 1.x validates pandas frames (its SQL datasource on DuckDB returns silent
empty results, see the architecture notes), so each batch is validated as the
frame about to be written to bronze. Results go to ``ops.expectation_results``
in the same transaction as the batch.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging

import pyarrow as pa

from ingestion.contracts import Table

log = logging.getLogger(__name__)


def _gx():
    import great_expectations as gx

    return gx


@functools.cache
def _context():
    gx = _gx()
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)  # GE pins some of its loggers to INFO
    ctx = gx.get_context(mode="ephemeral")
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx, ctx.data_sources.add_pandas("onesource_bronze")


def suite_for(table: Table):
    """The expectation suite of a bronze table, derived from its contract only."""
    gx = _gx()
    E = gx.expectations
    suite = gx.ExpectationSuite(name=f"{table.name}__contract")
    suite.add_expectation(E.ExpectTableColumnsToMatchSet(column_set=[n for n, _ in table.bronze_columns()],
                                                         exact_match=True))
    for c in table.columns:
        col = c.bronze_name
        if c.name in table.record_key or c.required:
            suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column=col))
        if c.parse == "code":
            suite.add_expectation(E.ExpectColumnValuesToBeInSet(column=col, value_set=list(c.codes)))
        if c.pattern:
            suite.add_expectation(E.ExpectColumnValuesToMatchRegex(column=col, regex=c.pattern))
        length = {"atena": 8, "houjin_bango": 13, "my_number": 64, "era7": 7}.get(c.parse)
        if length:
            suite.add_expectation(E.ExpectColumnValueLengthsToEqual(column=col, value=length))
    suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column="_line"))
    return suite


def run(table: Table, batch: pa.Table, batch_id: str, validated_at: dt.datetime) -> list[tuple]:
    """Validate one batch; rows for ``ops.expectation_results``."""
    ctx, source = _context()
    asset_name = f"{table.name}"
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(name=asset_name)
    try:
        definition = asset.get_batch_definition("whole")
    except KeyError:
        definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = suite_for(table)
    frame = batch.to_pandas(types_mapper=None)
    result = definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    rows = []
    for r in result.results:
        cfg = r.expectation_config
        kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
        res = r.result or {}
        rows.append((batch_id, table.name, suite.name, cfg.type, kwargs.get("column"),
                     json.dumps(kwargs, ensure_ascii=False, default=str), bool(r.success),
                     res.get("unexpected_count"), res.get("element_count"),
                     json.dumps({k: v for k, v in res.items() if k != "partial_unexpected_list"},
                                ensure_ascii=False, default=str)[:2000], validated_at))
    failed = [x[3] for x in rows if not x[6]]
    if failed:
        log.warning("%s %s: expectations failed: %s", batch_id, table.name, ", ".join(failed))
    return rows
