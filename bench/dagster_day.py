"""A day of the city as the data team runs it in Dagster, for bench_city.py: the sensors' ticks, and each run
they request executed in a process of its own, as the daemon's run launcher would start a run worker.

    python bench/dagster_day.py tick CURSORS.json   # evaluate the sensors; print the runs they request (JSON)
    python bench/dagster_day.py run JOB [PARTITION | START..END] [ASSET,...]   # one run, on the instance

The platform's own instance (``$ONESOURCE_HOME/dagster``) records every run, so the UI shows the benchmark's
days like any other; the sensors' cursors are kept in CURSORS.json between ticks, as the daemon keeps them.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import dagster as dg

from core.settings import get_settings
from dagster_project import ui
from dagster_project.definitions import build_definitions


def _instance():
    return ui.open_instance(get_settings())


def tick(cursor_file: Path) -> None:
    """Evaluate every sensor once (the delivery sensors first, then the refresh sensor) and print its runs."""
    defs = build_definitions(get_settings())
    cursors = json.loads(cursor_file.read_text()) if cursor_file.exists() else {}
    requests = []
    t0 = time.perf_counter()  # what the daemon spends: the evaluations (its code server has loaded the code)
    with _instance() as instance:
        queued = []  # as the daemon queues a sensor's runs before it evaluates the next sensor
        for sensor in sorted(defs.sensors, key=lambda s: s.name == "refresh_after_loads"):
            # with the instance's ref, as the daemon evaluates a sensor: a run request for a delivery day the same
            # tick adds as a partition resolves against the instance's partitions plus the tick's new ones
            with dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), definitions=defs,
                                         cursor=cursors.get(sensor.name)) as ctx:
                result = sensor.evaluate_tick(ctx)
            if result.cursor is not None:
                cursors[sensor.name] = result.cursor
            for add in result.dynamic_partitions_requests or []:  # new deliveries, as the daemon adds them
                known = set(instance.get_dynamic_partitions(add.partitions_def_name))
                instance.add_dynamic_partitions(add.partitions_def_name,
                                                [k for k in add.partition_keys if k not in known])
            for r in result.run_requests or []:
                tags = dict(r.tags or {})
                if r.partition_key:
                    tags["dagster/partition"] = r.partition_key
                placeholder = dg.DagsterRun(job_name=r.job_name or sensor.job_name, run_id=str(uuid.uuid4()),
                                            status=dg.DagsterRunStatus.NOT_STARTED, tags=tags)
                instance.add_run(placeholder)
                queued.append(placeholder.run_id)
                part = r.partition_key or (f"{tags['dagster/asset_partition_range_start']}.."
                                           f"{tags['dagster/asset_partition_range_end']}"
                                           if "dagster/asset_partition_range_start" in tags else "")
                requests.append({"sensor": sensor.name, "job": r.job_name or sensor.job_name, "partition": part,
                                 "assets": [k.to_user_string() for k in r.asset_selection or []]})
        for run_id in queued:  # this benchmark runs them itself, each in a process of its own
            instance.delete_run(run_id)
    cursor_file.write_text(json.dumps(cursors))
    print(json.dumps({"requests": requests, "seconds": round(time.perf_counter() - t0, 2)}))


def run(job: str, partition: str = "", assets: str = "") -> None:
    defs = build_definitions(get_settings())
    tags, key = {}, None
    if ".." in partition:
        start, end = partition.split("..")
        tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    elif partition:
        key = partition
    with _instance() as instance:
        selection = [dg.AssetKey(a.split("/")) for a in assets.split(",") if a] or None
        result = defs.get_job_def(job).execute_in_process(
            instance=instance, tags=tags, partition_key=key, raise_on_error=False, asset_selection=selection,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    if not result.success:
        sys.exit(f"run {result.run_id} of {job} failed")


if __name__ == "__main__":
    if sys.argv[1] == "tick":
        tick(Path(sys.argv[2]))
    else:
        run(*sys.argv[2:5])
