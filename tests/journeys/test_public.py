"""The public's journey: the open data the demo published, found and fetched as anyone outside the city would.

``onesource serve`` (README: the consented-data API serves ``/v1/opendata/catalog`` and
``/v1/opendata/files/{name}`` without credentials) runs as a process of its own; the catalog is read from it, is
checked for DCAT-AP 3's mandatory properties by SHACL, and every file is fetched from the URL the catalog gives
and validated by frictionless, byte for byte what the catalog says (size, SHA-256, charset).

The catalog names the public address of the API (setting ``opendata_base_url``; the demo leaves the default,
``onesource serve``'s own ``http://127.0.0.1:8000``). The test cannot hold port 8000 on a shared machine, so it
serves on a free port and fetches each URL with only the port changed: scheme, host and path are the catalog's.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.publish.dcat_ap import graph, violations
from tests.support.paths import artifact
from tests.support.servers import free_port

DEFAULT_BASE = "http://127.0.0.1:8000"  # what the README says `onesource serve` listens on
CODECS = {"utf-8": "utf-8-sig", "shift_jis": "shift_jis", "windows-31j": "cp932"}  # IANA name -> Python codec


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - the test's own server
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def api(built_demo):
    """``onesource serve --port N`` on the demo's home, as the README starts it."""
    port = free_port()
    proc = built_demo.popen("serve", "--port", str(port), log=artifact("public_serve.log"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it answers (start-up loads the release), or it died
            if proc.poll() is not None:
                pytest.fail(f"onesource serve exited {proc.returncode}: "
                            f"{artifact('public_serve.log').read_text(errors='replace')[-2000:]}")
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("onesource serve did not answer /health")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            proc.kill()


@pytest.fixture(scope="module")
def catalog(api) -> dict:
    status, headers, body = _get(f"{api}/v1/opendata/catalog")
    assert status == 200, body[:300]
    artifact("public_catalog.jsonld").write_bytes(body)
    return json.loads(body)


def _distributions(catalog: dict) -> list[dict]:
    return [d for ds in catalog["dcat:dataset"] for d in ds["dcat:distribution"]]


def _served(url: str, api: str) -> str:
    """The catalog's URL with only the port changed to the test's server (see the module's docstring)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=urlsplit(api).netloc))


def test_the_catalog_is_dcat_ap(catalog):
    found = violations(catalog)
    assert not found, "DCAT-AP violations:\n" + "\n".join(found[:30])
    g = graph(catalog)
    assert len(g) > 50  # it parsed as RDF, not as an empty document


def test_every_url_is_where_the_api_serves_the_file(catalog, built_demo):
    published = {p.name for p in (built_demo.home / "opendata").glob("*.csv")}
    listed = set()
    for dist in _distributions(catalog):
        for prop in ("dcat:accessURL", "dcat:downloadURL"):
            url = (dist.get(prop) or {}).get("@id")
            assert url, f"{dist['@id']}: no {prop}"
            parts = urlsplit(url)
            assert f"{parts.scheme}://{parts.netloc}" == DEFAULT_BASE, f"{prop} {url}: not the API's address"
            assert parts.path.startswith("/v1/opendata/files/"), f"{prop} {url}: not the API's open-data path"
        listed.add(urlsplit(dist["dcat:downloadURL"]["@id"]).path.rsplit("/", 1)[-1])
    assert listed == published, f"catalog lists {sorted(listed)}, the demo published {sorted(published)}"
    assert len(published) >= 4


def test_every_file_fetched_from_its_url_is_what_the_catalog_says_and_valid(catalog, api):
    import frictionless

    rows = {}
    for dist in _distributions(catalog):
        url = _served(dist["dcat:downloadURL"]["@id"], api)
        status, headers, body = _get(url)
        assert status == 200, f"{url}: {status} {body[:200]!r}"
        charset = dist["cnt:characterEncoding"]
        assert charset.lower() in CODECS, f"{url}: {charset!r} is not a charset name"
        assert headers.get("content-type", "").startswith("text/csv"), headers.get("content-type")
        assert f"charset={charset}".lower() in headers["content-type"].lower(), \
            f"{url}: served as {headers['content-type']}, catalogued as {charset}"
        assert len(body) == int(dist["dcat:byteSize"]["@value"])
        assert hashlib.sha256(body).hexdigest() == dist["spdx:checksum"]["spdx:checksumValue"]["@value"]
        codec = CODECS[charset.lower()]
        text = body.decode(codec)  # the declared charset reads every byte
        resource = frictionless.Resource(path=url, format="csv", encoding=codec)
        report = resource.validate()
        errors = [f"{e.type}: {e.message}" for task in report.tasks for e in task.errors]
        assert report.valid, f"{url}: frictionless found {errors[:5]}"
        assert report.tasks[0].stats["rows"] == len(text.splitlines()) - 1 > 0, f"{url}: rows not all read"
        name = dist["dct:title"].removesuffix(".csv").removesuffix("_sjis")
        rows.setdefault(name, []).append(text.replace("\r\n", "\n"))
    for name, copies in rows.items():  # the UTF-8 and the Shift_JIS copy hold the same table
        assert len(set(copies)) == 1, f"{name}: the encodings differ in content"


def test_a_name_the_catalog_does_not_list_is_not_served(api):
    status, _h, _b = _get(f"{api}/v1/opendata/files/not_published.csv")
    assert status == 404
