"""Refresh under load: the API answers a steady stream of lookups from another process while a full
refresh (new deliveries, staging, linkage, marts, a new release) runs: no errors, and every answer
equals the lake as of the one release it names, never a mix."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import httpx
import pytest

from api.clients import register_client
from api.store import Store
from core import lake
from core.releases import latest_release
from tests.support.commands import popen_cli, run_cli
from tests.support.lakes import build_lake, first_days, platform_at
from tests.support.servers import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
FIELDS = ("name", "birth_date", "sex", "address", "status")


def test_api_keeps_answering_consistently_during_a_full_refresh(city, tmp_path, monkeypatch):
    early = tmp_path / "landing_day2"
    first_days(city.landing, early, 2)
    with platform_at(tmp_path):
        build_lake(early)
        con = lake.connect(read_only=True)
        first = latest_release(con)
        ids = [r[0] for r in con.execute("select person_id from lake.marts.dim_person order by person_id limit 300"
                                         ).fetchall()]
        con.close()
        store_file = tmp_path / "api.sqlite"
        monkeypatch.setenv("ONESOURCE_API_STORE_FILE", str(store_file))
        store = Store(None, store_file)
        store.create_schema()
        _, key = register_client(store, "load", "department", "テスト課", ["kokuho_shikaku"], 1e6, 10**6)
        store.close()
        # two threads from one address, as through the city's gateway: above the per-address limit (200/s)
        # on a fast machine; the client's own rate is set high above
        env = {**os.environ, "ONESOURCE_API_RELEASE_POLL_SECONDS": "0.2", "ONESOURCE_API_ADDRESS_RATE_PER_SECOND": "100000"}
        port = free_port()
        server = popen_cli("serve", "--port", str(port), env=env, stdout=(tmp_path / "serve.log").open("w"),
                           stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        answers, errors, latencies, stop = [], [], [], threading.Event()
        try:
            for _ in range(120):
                try:
                    if httpx.get(f"{base}/v1/status").json().get("release"):
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)

            def load():
                with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as http:
                    i = 0
                    while not stop.is_set():
                        pid = ids[i % len(ids)]
                        i += 1
                        t = time.perf_counter()
                        try:
                            r = http.get(f"/v1/persons/{pid}", params={"purpose": "kokuho_shikaku"})
                        except httpx.HTTPError as exc:
                            errors.append(repr(exc))
                            continue
                        latencies.append(time.perf_counter() - t)
                        if r.status_code != 200:
                            errors.append((r.status_code, r.text[:200]))
                        else:
                            answers.append(r.json())
                        time.sleep(0.005)

            threads = [threading.Thread(target=load) for _ in range(2)]
            for t in threads:
                t.start()
            refresh = run_cli("ingest", "--landing", str(city.landing), "--no-expectations", env=env)
            assert refresh.returncode == 0, refresh.stderr[-2000:]
            refresh = run_cli("link", env=env)
            assert refresh.returncode == 0, refresh.stderr[-2000:]
            con = lake.connect(read_only=True)
            last = latest_release(con)
            con.close()
            wait_until(lambda: answers and answers[-1]["snapshot_id"] == last.snapshot_id, 60, 0.2,
                       "the API serving the newest release")
            stop.set()
            for t in threads:
                t.join()
        finally:
            stop.set()
            server.terminate()
            server.wait(timeout=30)
    assert not errors, errors[:5]
    served = {a["snapshot_id"] for a in answers}
    assert first.snapshot_id in served and last.snapshot_id in served, served
    latencies.sort()
    print(f"\nrefresh under load: {len(answers)} answers, 0 errors, p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, snapshots {sorted(served)}")
    # every answer equals the lake as of the snapshot it names (the release's, not any in between)
    with platform_at(tmp_path):
        for snap in served:
            con = lake.connect(snapshot_id=snap)
            truth = {r[0]: dict(zip(FIELDS, r[1:])) for r in con.execute(
                f"select person_id, {', '.join(FIELDS)} from lake.marts.dim_person").fetchall()}
            con.close()
            for a in (a for a in answers if a["snapshot_id"] == snap):
                expected = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                            for k, v in truth[a["person_id"]].items()}
                got = {k: a["data"][k] for k in FIELDS}
                got["address"] = (got["address"] or {}).get("street")  # the whole address's part the mart holds
                assert got == expected, (snap, a["person_id"])
