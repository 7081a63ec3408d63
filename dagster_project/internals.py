"""Dagster's and dagster-dbt's private API, every use of it in one place; the rest of the platform calls this module.

Checked against dagster 1.13.27, dagster-postgres 0.29.27 and dagster-dbt 0.29.27 (``CHECKED_AGAINST``):
tests/dagster_project/test_framework_internals.py fails, saying what to re-check, when an installed or pinned
version differs or one of these internals no longer behaves as assumed. ``ONESOURCE_FRAMEWORK_PATH=public``
(``core.settings``) runs the platform on the public API alone: Dagster's own storage (``storage: sqlite:`` or
``postgres:``), dagster-dbt's ``DbtCliResource(...).cli(...).stream()``, ``execute_in_process``.

1. The event log (``LocalEventLogStorage``, ``PooledPostgresEventLogStorage``). Dagster's SQLite event log opens
   an engine and a connection per event and commits it with ``synchronous=FULL`` (an fsync of the write-ahead
   log per event, twice for an asset event: the run's shard and the cross-run index); dagster-postgres opens a
   connection per event. A day's run writes about 500 events (a planned and a done materialization per model, a
   planned and an evaluated check per dbt test). Measured, 400 asset events: SQLite 5 s -> 1.4 s, PostgreSQL
   9-10 s -> 2.6 s. Uses ``dagster._core.storage.event_log.sqlite.sqlite_event_log.SqliteEventLogStorage``
   (subclassed: ``_connect(shard)``, ``_db_lock``, ``_initialized_dbs``, ``_initdb(engine)``,
   ``conn_string_for_shard(shard)``, ``has_table``, ``wipe``, ``dispose``) and its ``INDEX_SHARD_NAME``,
   ``dagster._core.storage.sqlite.SQLITE_BUSY_TIMEOUT_SECONDS``, and ``PostgresEventLogStorage``'s ``_engine``
   and ``_token_provider`` (its engine replaced after construction).
2. The instance's storage by class path in dagster.yaml (``storage_yaml``): ``storage: sqlite:`` takes no event
   log of one's own, so its parts are named one by one, in its layout on disk (an instance keeps its history
   whichever path wrote it): ``dagster._core.storage.runs.SqliteRunStorage``,
   ``dagster._core.storage.schedules.SqliteScheduleStorage``.
3. dbt's results as Dagster events (``dbt_selection``, ``dbt_events``): dbt runs in the run's process through
   the refresh sequence's own ``dbt_build`` (its kept manifest, core/dbt_internals.py; no dbt process started
   and no project parsed per dbt stage), and its results become the materializations and check results that
   dagster-dbt's ``DbtCliInvocation.stream()`` yields. Not measured on its own: it spares a dbt process, its
   start-up and a parse of the project per dbt stage (the kept manifest alone: about a second a stage); bench_city
   --framework-path public measures the difference. Uses ``dagster_dbt.asset_utils``'s
   ``get_manifest_and_translator_from_dbt_assets``, ``get_subset_selection_for_context`` and
   ``get_asset_check_key_for_test``, and ``DagsterDbtTranslator.get_asset_spec(manifest, unique_id, project)``.
4. A run of the code location the UI serves (``execute_as_the_ui_would``), for ``onesource build``: not for
   speed, but no public API creates a run of a remote job, and an ``execute_in_process`` run has no origin (the
   UI's Overview timeline and the job's page do not list it). Uses ``dagster._core``'s ``ReconstructableJob``,
   ``execute_run``, ``InProcessCodeLocationOrigin`` and ``LoadableTargetOrigin``, the location's
   ``_get_reconstructable_repository``, and ``DagsterInstance.create_run`` given a remote job's snapshots.
"""

from __future__ import annotations

import contextlib
import sys
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster_postgres.event_log.event_log import PostgresEventLogStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

CHECKED_AGAINST = {"dagster": "1.13.27", "dagster-postgres": "0.29.27", "dagster-dbt": "0.29.27"}


# -- 1. the event log ---------------------------------------------------------------------------------
def _unsynced(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class LocalEventLogStorage(SqliteEventLogStorage):
    """The embedded instance's event log: Dagster's SQLite shards, committed without an fsync per event, through
    an engine kept per shard (Dagster's creates one per event, and building an engine costs more than the write).

    In WAL mode a commit is then written, not synced, and is synced at the next checkpoint: a crash of the
    process loses nothing; a power cut of the machine can lose the events of the last moments (never the lake's
    data, which the lake's catalog commits on its own), and never corrupts the database."""

    _KEEP_ENGINES = 8  # the index and the shards of the runs this process writes or reads now

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engines: OrderedDict[str, Engine] = self.__dict__.setdefault("_engines", OrderedDict())
        engine = engines.get(shard)
        if engine is None:
            # one connection kept open per shard (closing the last connection of a WAL database checkpoints
            # it); the storage's lock already lets one thread at a time use a shard
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1,
                                   max_overflow=2, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                                                 "check_same_thread": False})
            event.listen(engine, "connect", _unsynced)
            engines[shard] = engine
            while len(engines) > self._KEEP_ENGINES:
                engines.popitem(last=False)[1].dispose()
        engines.move_to_end(shard)
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Asked before many index writes, some inside an open index connection (so not through ``_connect``,
        whose lock is held then); Dagster builds an engine for each question."""
        engine = self.__dict__.get("_schema_engine")
        if engine is None:
            engine = self.__dict__["_schema_engine"] = create_engine(
                self.conn_string_for_shard(INDEX_SHARD_NAME), poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def _dispose_engines(self) -> None:
        for engine in [*self.__dict__.pop("_engines", {}).values(), self.__dict__.pop("_schema_engine", None)]:
            if engine is not None:
                engine.dispose()

    def wipe(self) -> None:
        with self._db_lock:
            self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """The event log on PostgreSQL (the production layout), through one connection kept open per process, as
    dagster-webserver keeps it: dagster-postgres opens a new connection for every event otherwise."""

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledPostgresEventLogStorage:
        storage = cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                      should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                      token_provider=get_token_provider_from_config(config_value))
        storage._engine.dispose()
        storage._engine = create_pg_engine(storage.postgres_url, storage._token_provider, isolation_level="AUTOCOMMIT",
                                           pool_size=1, max_overflow=4, pool_recycle=3600, pool_pre_ping=True)
        return storage


# -- 2. the storage named in dagster.yaml ----------------------------------------------------------------
def storage_yaml(base_dir: Path, postgres_url_env: str | None) -> list[str]:
    """dagster.yaml's storage lines with the event logs above: on PostgreSQL (its URL read from the variable
    ``postgres_url_env``) dagster-postgres's layout, else Dagster's SQLite layout under ``base_dir``."""
    if postgres_url_env is not None:
        parts = [("run_storage", "dagster_postgres.run_storage", "PostgresRunStorage"),
                 ("event_log_storage", __name__, PooledPostgresEventLogStorage.__name__),
                 ("schedule_storage", "dagster_postgres.schedule_storage", "PostgresScheduleStorage")]
        config = ["    postgres_url:", f"      env: {postgres_url_env}"]
        return [line for kind, module, cls in parts
                for line in (f"{kind}:", f"  module: {module}", f"  class: {cls}", "  config:", *config)]
    parts = [("run_storage", "dagster._core.storage.runs", "SqliteRunStorage", base_dir / "history"),
             ("event_log_storage", __name__, LocalEventLogStorage.__name__, base_dir / "history" / "runs"),
             ("schedule_storage", "dagster._core.storage.schedules", "SqliteScheduleStorage", base_dir / "schedules")]
    return [line for kind, module, cls, where in parts
            for line in (f"{kind}:", f"  module: {module}", f"  class: {cls}", "  config:", f"    base_dir: {where}")]


# -- 3. dbt's results as Dagster events -------------------------------------------------------------------
_PASSED = {"success", "pass"}


def dbt_selection(context: dg.AssetExecutionContext, select: str) -> list[str]:
    """dbt's arguments selecting what this run of a ``@dbt_assets`` asks for (all of ``select``, or the subset
    and the tests of the checks selected), as dagster-dbt's ``cli(..., context=context)`` computes them."""
    from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets, get_subset_selection_for_context

    manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    selection, indirect = get_subset_selection_for_context(
        context=context, manifest=manifest, select=select, exclude=None, selector=None,
        dagster_dbt_translator=translator, current_dbt_indirect_selection_env=None)
    return [*selection, "--indirect-selection", indirect] if indirect else selection


def dbt_events(context: dg.AssetExecutionContext, result: Any) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """dbt's run results (``dbtRunner``'s result) as Dagster events: a materialization per model built, a check
    result per test, for the assets and checks the run selected."""
    from dagster_dbt.asset_utils import get_asset_check_key_for_test, get_manifest_and_translator_from_dbt_assets

    manifest, translator, proj = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    selected_checks = set(context.selected_asset_check_keys)
    for r in getattr(result.result, "results", None) or []:
        uid, status = r.node.unique_id, str(r.status)
        meta = {"unique_id": uid, "execution_duration": round(float(r.execution_time or 0), 3)}
        rows = getattr(r.adapter_response, "get", lambda *_: None)("rows_affected")
        if rows is not None:
            meta["rows_affected"] = rows
        if uid.startswith("model.") and status in _PASSED:
            key = translator.get_asset_spec(manifest, uid, proj).key
            if key in context.selected_asset_keys:
                yield dg.MaterializeResult(asset_key=key, metadata=meta)
        elif uid.startswith("test."):
            check = get_asset_check_key_for_test(manifest, translator, uid, proj)
            if check is not None and check in selected_checks:
                yield dg.AssetCheckResult(
                    asset_key=check.asset_key, check_name=check.name, passed=status in _PASSED,
                    severity=dg.AssetCheckSeverity.WARN if status == "warn" else dg.AssetCheckSeverity.ERROR,
                    metadata={**meta, "status": status, "failures": int(r.failures or 0)})


# -- 4. a run of the code location the UI serves ------------------------------------------------------------
def execute_as_the_ui_would(instance: dg.DagsterInstance, module_name: str, working_directory: Path, job_name: str,
                            run_config: dict, tags: dict[str, str]) -> dg.ExecutionResult:
    """Run ``job_name`` of the code location ``module_name`` in this process as a run of that location as the UI
    serves it (``dagster job execute`` with the run's origin, as ``dagster job launch`` creates it): the run
    carries its repository and job origin, so the UI's Overview timeline and the job's page list it and its
    materializations, and the UI can re-execute it."""
    from dagster._core.definitions.reconstruct import ReconstructableJob
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=module_name,
                             working_directory=str(working_directory)),
        location_name=module_name)  # the location name `dagster dev -m` gives it, so the UI knows the runs as its own
    location = origin.create_location(instance)
    try:
        (repo_name, repo), = location.get_repositories().items()
        remote_job = repo.get_full_job(job_name)
        plan = location.get_execution_plan(remote_job, run_config, step_keys_to_execute=None, known_state=None,
                                           instance=instance)
        run = instance.create_run(
            job_name=job_name, run_id=None, run_config=run_config, resolved_op_selection=None,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute, op_selection=None,
            status=None, root_run_id=None, parent_run_id=None, tags={**remote_job.tags, **tags},
            job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot, remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(), asset_selection=None, asset_check_selection=None,
            asset_graph=repo.asset_graph)
        # the definitions the location loaded, not loaded a second time
        recon = ReconstructableJob(location._get_reconstructable_repository(repo_name), job_name)  # noqa: SLF001
        return execute_run(recon, run, instance)
    finally:
        location.cleanup()
