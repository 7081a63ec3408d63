"""`onesource serve` really started (uvicorn), driven by the CLI's clients, then fuzzed by schemathesis."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.commands import run_cli
from tests.support.servers import free_port, serving_cli

REPO = Path(__file__).resolve().parents[2]


def _cli(env: dict, *args: str) -> str:
    done = run_cli(*args, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def server(published_city, tmp_path):
    env = {**os.environ, "ONESOURCE_HOME": str(published_city / "home"), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys"),
           "ONESOURCE_CATALOG": "sqlite",
           "ONESOURCE_API_STORE_FILE": str(tmp_path / "api.sqlite"),
           "ONESOURCE_API_ANONYMOUS_RATE_PER_SECOND": "1000", "ONESOURCE_API_ADDRESS_RATE_PER_SECOND": "100000"}
    env.pop("ONESOURCE_API_STORE_DSN", None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving_cli("serve", "--port", str(port), env=env, log_path=tmp_path / "serve.log",
                     ready=lambda: httpx.get(f"{base}/v1/status").json().get("release")):
        yield base, env, tmp_path / "serve.log"


def test_cli_registers_lists_and_revokes_clients_against_the_running_server(server, people):
    base, env, _ = server
    out = _cli(env, "clients", "add", "児童手当システム", "--organisation", "こども家庭部", "--purpose", "jidou_teate")
    client_id = re.search(r"client_id: (\S+)", out).group(1)
    key = re.search(r"api_key:\s+(\S+)", out).group(1)
    stored = (Path(env["ONESOURCE_API_STORE_FILE"])).read_bytes()
    assert key.encode() not in stored and key.split("_")[-1].encode() not in stored  # only the hash is kept
    url = f"{base}/v1/persons/{people['parent']}"
    assert httpx.get(url, params={"purpose": "jidou_teate"}, headers={"X-API-Key": key}).status_code == 200
    assert "jidou_teate" in _cli(env, "clients", "list")
    _cli(env, "clients", "revoke", client_id)
    assert httpx.get(url, params={"purpose": "jidou_teate"}, headers={"X-API-Key": key}).status_code == 401
    bad = run_cli("clients", "add", "x", "--kind", "private", "--purpose", "jidou_teate", env=env)
    assert bad.returncode == 2 and "may not be used by a private client" in bad.stderr
    assert "access log OK" in _cli(env, "accesslog", "verify")


def test_a_forwarded_for_header_does_not_buy_a_fresh_bucket_from_the_real_server(server, people):
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise; `onesource serve` tells it to
    believe no proxy unless one is configured, so invalid keys from one socket are throttled whatever they
    claim to come from."""
    base, _env, log = server
    url = f"{base}/v1/persons/{people['parent']}"
    started = time.monotonic()
    with httpx.Client() as client:
        codes = [client.get(url, params={"purpose": "jidou_teate"},
                            headers={"X-API-Key": f"osk_bbbbbbbbbbbb_{'y' * 43}",
                                     "X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"}
                            ).status_code for i in range(40)]
    elapsed = time.monotonic() - started
    # 20 at once, then 1 a second (a slow or busy machine refills the bucket while the 40 are sent)
    assert codes.count(401) <= 21 + elapsed and codes.count(429) >= 40 - 21 - elapsed - 1, (codes, elapsed)
    # a body far over the limit, declared: refused at once, the connection closed, the server still up
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/me/consents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n{" % (200 * 1024 * 1024))
        answer = sock.recv(4096)  # answered at once, while 200 MB are still "to come"
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert httpx.get(f"{base}/health").status_code == 200


def test_schemathesis_finds_no_server_error(server, people, tmp_path):
    base, env, log = server
    out = _cli(env, "clients", "add", "fuzz", "--purpose", "jidou_teate", "--purpose", "nyusatsu_shikaku",
               "--purpose", "hoiku_riyou_chousei", "--rate", "10000", "--burst", "10000")
    key = re.search(r"api_key:\s+(\S+)", out).group(1)
    token = _cli(env, "residents", "credential", people["parent"]).strip()
    st = Path(sys.executable).with_name("st")
    for header in (f"X-API-Key: {key}", f"Authorization: Bearer {token}"):
        done = subprocess.run([str(st), "run", f"{base}/openapi.json", "--checks",
                               "not_a_server_error,response_schema_conformance",
                               "--max-examples", "40", "--seed", "122033", "--no-color", "--header", header,
                               "--generation-database", "none", "--report-dir", str(tmp_path / "st")],
                              capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert re.search(r"\d+ passed", done.stdout), done.stdout[-2000:]
    text = log.read_text()
    assert " 500 " not in text and "Traceback" not in text
    assert re.search(r"GET /v1/persons/\S+ (200|403|404|422)", text)
