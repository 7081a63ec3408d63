"""The data team's first hour: after the demo, ``onesource ui`` as the README says, the pages a data engineer opens
first (Runs, the Overview's timeline, the daily_refresh job, the bronze assets' partitions, the quarantine, the
asset graph), one SIGTERM to stop it all, and ``onesource explain`` on the largest clusters.

What the UI shows is asserted twice: through the UI's own GraphQL endpoint (what its pages query) and in headless
Chromium (the page's rendered text, and a screenshot saved to the artifacts to look at).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.support.browser import CHROMIUM_ARGS, chromium
from tests.support.demo import Demo
from tests.support.paths import artifact
from tests.support.servers import answers, child_group, free_port, group_members

LOCATION = "dagster_project.definitions"  # the code location `onesource ui` serves
REPOSITORY = "__repository__"
STOP_WITHIN = 15.0  # the issue's bound: one SIGTERM stops everything within 15 s


@dataclass
class UI:
    demo: Demo
    port: int
    proc: subprocess.Popen
    group: int  # the process group of `dagster dev` and everything it started

    def gql(self, query: str, variables: dict | None = None) -> dict:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/graphql",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            out = json.loads(r.read())
        assert "errors" not in out, out["errors"]
        return out["data"]

    def page(self, path: str, name: str) -> str:
        """The page as a user sees it in Chromium: a screenshot in the artifacts, and its rendered text."""
        url = f"http://127.0.0.1:{self.port}{path}"
        common = [chromium(), "--headless=new", *CHROMIUM_ARGS, "--hide-scrollbars", "--window-size=1600,1000",
                  "--virtual-time-budget=30000"]
        subprocess.run([*common, f"--screenshot={artifact(name)}", url], capture_output=True, timeout=240)
        assert artifact(name).exists() and artifact(name).stat().st_size > 20_000, f"no screenshot of {url}"
        dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=240).stdout
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", dom)))
        artifact(name).with_suffix(".txt").write_text(text, encoding="utf-8")
        return html.unescape(text)


def _answers(port: int) -> bool:
    return answers(f"http://127.0.0.1:{port}/server_info")


@pytest.fixture(scope="module")
def ui(built_demo):
    """``onesource ui`` on the demo's home, started from a shell as the README says (its own process group)."""
    port = free_port()
    proc = built_demo.popen("ui", "--port", str(port), log=artifact("data_team_ui.log"), start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not _answers(port):
            assert proc.poll() is None, f"onesource ui exited {proc.returncode}: see {artifact('data_team_ui.log')}"
            assert time.monotonic() < deadline, "the Dagster UI did not answer within 300 s"
            time.sleep(1)
        group = child_group(proc.pid)
        assert group is not None and group != proc.pid
        session = UI(built_demo, port, proc, group)
        entry = session.gql("{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { "
                            "__typename ... on PythonError { message } } } } } }")
        loc = entry["workspaceOrError"]["locationEntries"][0]
        assert loc["name"] == LOCATION and loc["locationOrLoadError"]["__typename"] == "RepositoryLocation", loc
        yield session
    finally:
        if proc.poll() is None:  # the stop test did not stop it: nothing stays behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        group = child_group(proc.pid) if proc.poll() is None else None
        if group:
            os.killpg(group, signal.SIGKILL)


RUNS = """{ runsOrError { ... on Runs { results { runId status jobName
  repositoryOrigin { repositoryLocationName repositoryName } } } } }"""


def _demo_run(ui: UI) -> dict:
    runs = ui.gql(RUNS)["runsOrError"]["results"]
    refresh = [r for r in runs if r["jobName"] == "daily_refresh"]
    assert len(refresh) == 1, runs
    return refresh[0]


def test_the_demo_run_shows_on_the_runs_page_the_overview_timeline_and_the_job_page(ui):
    run = _demo_run(ui)
    assert run["status"] == "SUCCESS"
    # the run belongs to the code location the UI serves: what the timeline and the job page group runs by
    assert run["repositoryOrigin"] == {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}, run
    job = ui.gql("""query($s: PipelineSelector!) { pipelineOrError(params: $s) { __typename
        ... on Pipeline { runs(limit: 5) { runId status } } } }""",
                 {"s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                        "pipelineName": "daily_refresh"}})["pipelineOrError"]
    assert [r["runId"] for r in job["runs"]] == [run["runId"]], job
    short = run["runId"][:8]

    runs_page = ui.page("/runs", "data_team_runs.png")
    assert short in runs_page and "daily_refresh" in runs_page

    timeline = ui.page("/overview/activity/timeline", "data_team_overview_timeline.png")
    assert "No runs" not in timeline, "the Overview timeline says No runs"
    # the code location's row counts the demo's run, and daily_refresh has a row of its own
    assert re.search(rf"{re.escape(LOCATION)} 1 daily_refresh", timeline), timeline[-600:]

    job_page = ui.page(f"/locations/{LOCATION}/jobs/daily_refresh/runs", "data_team_job_runs.png")
    assert "Latest run:" in job_page, "daily_refresh's page has no latest run"
    assert short in job_page, "daily_refresh's page lists no run"
    partitions = ui.page(f"/locations/{LOCATION}/jobs/daily_refresh/partitions", "data_team_job_partitions.png")
    days = len({p.name for p in (ui.demo.home / "landing").glob("*/*") if p.is_dir() and p.name.isdigit()})
    assert f"{days} Total partitions 0 Missing partitions" in partitions, partitions[-800:]
    # the job's asset graph: its assets' latest materializations are the demo run's
    nodes = ui.gql("""query($s: PipelineSelector!) { assetNodes(pipeline: $s) { assetKey { path }
        isMaterializable assetMaterializations(limit: 1) { runId } } }""",
                   {"s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                          "pipelineName": "daily_refresh"}})["assetNodes"]
    by_job = [n for n in nodes if n["isMaterializable"]]
    assert len(by_job) > 40
    not_by_the_run = ["/".join(n["assetKey"]["path"]) for n in by_job
                      if [m["runId"] for m in n["assetMaterializations"]] != [run["runId"]]]
    assert not not_by_the_run, not_by_the_run
    graph = ui.page(f"/locations/{LOCATION}/jobs/daily_refresh", "data_team_job_graph.png")
    assert "Latest run:" in graph and "View 64 assets" in graph.replace("\u200b", ""), graph[:800]


DELIVERY_DAYS_QUERY = """query($k: AssetKeyInput!) { assetNodeOrError(assetKey: $k) { ... on AssetNode {
  partitionKeys partitionStats { numMaterialized numPartitions numFailed numMaterializing } } } }"""


def test_the_bronze_assets_show_their_delivery_days_none_missing(ui):
    landing = ui.demo.home / "landing"
    days = sorted({p.name for p in landing.glob("*/*") if p.is_dir() and p.name.isdigit()})
    keys = [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in days]
    assert len(keys) >= 7
    bronze = [n["assetKey"]["path"] for n in ui.gql("{ assetNodes(group: {groupName: \"bronze\", "
                                                     f"repositoryName: \"{REPOSITORY}\", repositoryLocationName: "
                                                     f"\"{LOCATION}\"}}) {{ assetKey {{ path }} }} }}")["assetNodes"]]
    assert len(bronze) >= 10
    partitioned = 0
    for path in bronze:
        node = ui.gql(DELIVERY_DAYS_QUERY, {"k": {"path": path}})["assetNodeOrError"]
        if not node["partitionKeys"]:
            assert path[1] == "keiyaku", path  # the contract database is read by watermark, not by day
            continue
        partitioned += 1
        # the partitions are the days deliveries arrived: the first is the first delivery, every one materialized
        assert node["partitionKeys"] == keys, (path, node["partitionKeys"][:3])
        assert node["partitionStats"] == {"numMaterialized": len(keys), "numPartitions": len(keys), "numFailed": 0,
                                          "numMaterializing": 0}, path
    assert partitioned >= 7
    page = ui.page("/assets/bronze/juki/jumin?view=partitions", "data_team_bronze_partitions.png")
    assert f"{len(keys)} Partitions Selected" in page, page[:1500]
    assert f"Materialized ({len(keys)})" in page and "Missing (0)" in page and "Failed (0)" in page, page[:1500]
    assert all(k in page for k in keys)


def test_the_field_issues_are_a_described_materialized_asset(ui):
    node = ui.gql("""{ assetNodeOrError(assetKey: {path: ["quarantine", "ingestion", "field_issues"]}) {
        __typename ... on AssetNode { description isMaterializable groupName
        assetMaterializations(limit: 1) { runId metadataEntries { label } } } } }""")["assetNodeOrError"]
    assert node["__typename"] == "AssetNode", node
    assert node["isMaterializable"] and node["groupName"] == "quarantine"
    assert node["description"] and "unusable field" in node["description"]
    assert node["assetMaterializations"] and node["assetMaterializations"][0]["runId"] == _demo_run(ui)["runId"]
    assert "field_issues" in {e["label"] for e in node["assetMaterializations"][0]["metadataEntries"]}
    page = ui.page("/assets/quarantine/ingestion/field_issues", "data_team_field_issues.png")
    assert "unusable field of a loaded row" in page and "Latest materialization" in page
    assert "Never materialized" not in page


def test_no_two_nodes_of_the_asset_graph_have_the_same_name(ui):
    nodes = ui.gql("{ assetNodes { assetKey { path } isMaterializable description } }")["assetNodes"]
    assert len(nodes) > 40
    shown = Counter(n["assetKey"]["path"][-1] for n in nodes)  # a graph node shows the key's last part
    ambiguous = sorted("/".join(n["assetKey"]["path"]) for n in nodes if shown[n["assetKey"]["path"][-1]] > 1)
    assert not ambiguous, ambiguous
    stubs = ["/".join(n["assetKey"]["path"]) for n in nodes if not n["isMaterializable"] or not n["description"]]
    assert not stubs, f"assets that are stubs (not materializable or undescribed): {stubs}"
    for name in ("person_records", "person_membership", "person_key_conflicts", "business_records",
                 "business_membership", "business_key_conflicts", "stg_juki__residents", "stg_keiyaku__vendors",
                 "hoiku__applications", "analysis__households"):
        assert name in shown, name
    # the graph of a group, as the data team opens it (its nodes are drawn, not text: look at the screenshots)
    for group in ("identity", "staging", "products"):
        page = ui.page(f"/locations/{LOCATION}/asset-groups/{group}", f"data_team_{group}_graph.png")
        assert f"Asset groups | {group}" in page


def test_opening_the_ui_on_the_demo_started_no_run(ui):
    """The sensors begin past what the demo loaded (their first ticks come as the daemon starts): the UI, open for
    a while now, started nothing, and no sensor failed."""
    assert [r["jobName"] for r in ui.gql(RUNS)["runsOrError"]["results"]] == ["daily_refresh"]
    # what `onesource ui` printed: every sensor evaluated and skipped (nothing new), none failed
    names = {s["name"] for s in ui.gql("""query($r: RepositorySelector!) { sensorsOrError(repositorySelector: $r) {
        ... on Sensors { results { name } } } }""", {"r": {"repositoryLocationName": LOCATION,
                                                           "repositoryName": REPOSITORY}})["sensorsOrError"]["results"]}
    assert len(names) >= 9
    deadline = time.monotonic() + 120  # every sensor's first tick comes within a minute of the daemon's start
    while True:
        printed = artifact("data_team_ui.log").read_bytes().decode("utf-8", "replace")
        skipped = set(re.findall(r"Sensor (\w+) skipped", printed))
        if names <= skipped or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert names <= skipped, f"sensors that did not skip: {names - skipped}"
    assert "Error occurred during the execution of evaluation_fn" not in printed
    assert [r["jobName"] for r in ui.gql(RUNS)["runsOrError"]["results"]] == ["daily_refresh"]


def test_one_sigterm_stops_everything(ui):
    assert len(group_members(ui.group)) >= 4, group_members(ui.group)  # dagster dev, webserver, daemon, code server
    ui.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    while time.monotonic() - t0 < STOP_WITHIN and (ui.proc.poll() is None or group_members(ui.group)):
        time.sleep(0.2)
    left = group_members(ui.group)
    artifact("data_team_stop.txt").write_text(f"stopped {time.monotonic() - t0:.1f} s after one SIGTERM; left: {left}\n",
                                              encoding="utf-8")
    assert ui.proc.poll() is not None, f"onesource ui still running {STOP_WITHIN:g} s after one SIGTERM"
    assert not left, f"still running {STOP_WITHIN:g} s after one SIGTERM: {left}"
    assert ui.proc.returncode == 128 + signal.SIGTERM
    assert not _answers(ui.port)


def _largest(demo: Demo, entity: str) -> tuple[str, int]:
    out = demo.run("query", "--csv", f"select {entity}_id, count(*) as records from lake.identity.{entity}_membership "
                   "group by 1 order by 2 desc, 1 limit 1")
    assert out.returncode == 0, out.stderr[-2000:]
    (row,) = list(csv.DictReader(io.StringIO(out.stdout)))
    return row[f"{entity}_id"], int(row["records"])


@pytest.mark.parametrize("entity", ["person", "business"])
def test_explain_prints_the_largest_cluster(built_demo, entity):
    entity_id, records = _largest(built_demo, entity)
    assert records > 1
    out = built_demo.run("explain", entity_id)
    artifact(f"data_team_explain_{entity}.txt").write_text(out.stdout + out.stderr, encoding="utf-8")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith(entity_id)
    assert f"レコード / records ({records}):" in out.stdout
    edges = [line for line in out.stdout.split("つながり / edges", 1)[1].split("\n衝突", 1)[0].splitlines()[1:]]
    assert len(edges) >= records - 1  # a cluster of n records holds together by at least n - 1 edges
    assert "Traceback" not in out.stderr and "None" not in "\n".join(edges)
