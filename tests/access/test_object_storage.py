"""The production layout end to end: a PostgreSQL catalog (a cluster of the test's own), ENCRYPTED data files on
an S3-compatible object store (moto's server, started here), one role per audience. The whole refresh runs on
it; a department's role reads its product from the object store and nothing else; every object in the bucket
is ciphertext without a name of the city."""

from __future__ import annotations

import subprocess
import sys
import time

import boto3
import duckdb
import pytest
from pydantic import SecretStr

from access import enforce, policy
from core import lake
from core.settings import Settings
from tests.support import pgcluster
from tests.support.lakes import build_lake, platform_at
from tests.support.paths import EXAMPLES
from tests.support.roles import dsn_as, known_values, lake_tables
from tests.support.servers import free_port
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.pgaudit, pytest.mark.slow]
KEY, SECRET = "onesource-test", "onesource-test-secret"


@pytest.fixture(scope="module")
def object_store():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=KEY,
                          aws_secret_access_key=SECRET, region_name="ap-northeast-1")

    def up() -> bool:
        try:
            client.list_buckets()
            return True
        except Exception:  # noqa: BLE001 - not listening yet
            return False

    try:
        wait_until(up, 30, 0.2, "moto's S3 server answering")
        client.create_bucket(Bucket="ichikawa-lake", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
        yield f"127.0.0.1:{port}", client
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_production_layout_builds_serves_each_role_and_stores_only_ciphertext(object_store, tmp_path):
    endpoint, client = object_store
    s3 = {"data_path": "s3://ichikawa-lake/onesource/", "s3_endpoint": endpoint, "s3_key_id": KEY, "s3_key": SECRET,
          "s3_use_ssl": "false", "s3_url_style": "path"}
    with pgcluster.cluster() as admin:
        with platform_at(tmp_path, catalog_dsn=admin, **s3):
            t = time.perf_counter()
            build_lake(EXAMPLES / "landing")  # the whole refresh sequence, dbt included, on the object store
            settings = Settings()
            print(f"the production layout built the examples in {time.perf_counter() - t:.0f}s")
            assert settings.encrypted and not settings.data_path_is_local
            enforce.apply(admin, policy.load())
            password = enforce.issue_credentials(admin, "keiyaku")
            owner = lake.connect(settings, read_only=True)
            try:
                known = known_values(owner)
                vendors = owner.execute("select count(*) from lake.product_keiyaku.vendors").fetchone()[0]
            finally:
                owner.close()
            as_keiyaku = SecretStr(dsn_as(admin, "keiyaku", password))
            role = lake.connect(settings.model_copy(update={"catalog_dsn": as_keiyaku}), read_only=True)
            try:
                assert lake_tables(role) == {"product_keiyaku.vendors"}
                assert role.execute("select count(*) from lake.product_keiyaku.vendors").fetchone()[0] == vendors > 0
                with pytest.raises(duckdb.CatalogException, match="does not exist"):
                    role.execute("select * from lake.marts.dim_business")
            finally:
                role.close()
    objects = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket="ichikawa-lake")
               for o in page.get("Contents", [])]
    assert len(objects) > 20 and all(k.startswith("onesource/") and k.endswith(".parquet") for k in objects)
    encoded = [k.encode() for k in known]
    assert encoded
    for key in objects:
        body = client.get_object(Bucket="ichikawa-lake", Key=key)["Body"].read()
        assert body[:4] == body[-4:] == b"PARE", key  # an encrypted Parquet file (PAR1 when in the clear)
        assert not [k for k in encoded if k in body], key
