"""The data products on the built test city: each department's product holds only the persons its 事務
concerns; the analysis zone is 仮名加工情報: no identifier, keys that are neither person_ids nor
recomputable from them, k-anonymous quasi-identifiers, and 丁目 detail where the city allows it."""

from __future__ import annotations

import hashlib

import pytest

from access.pseudonym import pseudonym, zone_key
from core import lake
from tests.support.lakes import platform_at

K = 5  # dbt_project.yml: analysis_k


@pytest.fixture(scope="module")
def con(built_city):
    with platform_at(built_city):
        c = lake.connect(read_only=True)
        yield c
        c.close()


def _rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_department_products_hold_only_the_persons_their_work_concerns(con):
    everyone = _rows(con, "select count(*) from lake.marts.dim_person")[0][0]
    residents = _rows(con, "select count(*), count(*) filter (where status = 'not_registered') "
                           "from lake.product_shimin.residents")[0]
    assert 0 < residents[0] < everyone and residents[1] == 0  # the registry's persons, no 住登外者
    # 保育課: applicants and their households, not the registry
    members, applicants = _rows(con, "select count(*), count(*) filter (where is_applicant) "
                                     "from lake.product_hoiku.applicant_households")[0]
    assert 0 < applicants <= members < residents[0] / 3
    outside = _rows(con, """
        select count(*) from lake.product_hoiku.applicant_households h
        where household_id not in (
            select p.household_id from lake.marts.mart_nursery_applications a
            join lake.marts.dim_person p on p.person_id in (a.child_person_id, a.parent_person_id)
            where p.household_id is not null)""")[0][0]
    assert outside == 0
    # 国保: the insured only; 市民税課: taxpayers only; 契約課: registered vendors only
    assert _rows(con, "select count(*) from lake.product_kokuho.enrolees")[0][0] == \
        _rows(con, "select count(*) from lake.marts.mart_kokuho_enrolment")[0][0]
    assert _rows(con, "select count(distinct person_id) from lake.product_shiminzei.taxpayers")[0][0] == \
        _rows(con, "select count(distinct person_id) from lake.marts.mart_resident_tax_by_person")[0][0]
    assert _rows(con, "select count(*) from lake.product_keiyaku.vendors")[0][0] == \
        _rows(con, "select count(*) from lake.marts.dim_business where is_registered_vendor")[0][0] > 0
    # a product has only its permitted columns: no tax in the registry's product, no names in the waiting list
    cols = {r[0] for r in _rows(con, "select column_name from duckdb_columns() where database_name = 'lake' "
                                     "and schema_name = 'product_shimin' and table_name = 'residents'")}
    assert "name" in cols and not cols & {"total_income_yen", "hihokensha_bango", "taxation"}


def test_the_analysis_zone_holds_no_identifier_and_keys_nobody_can_recompute(con, built_city):
    persons = _rows(con, "select * from lake.analysis.persons")
    assert len(persons) > 1000
    columns = [r[0] for r in _rows(con, "select column_name from duckdb_columns() where database_name = 'lake' "
                                        "and schema_name = 'analysis' and table_name = 'persons' order by column_index")]
    assert {"person_key", "household_key", "age_band", "sex", "area", "household_size"} <= set(columns)
    assert not [c for c in columns if c in ("name", "name_kana", "person_id", "household_id", "atena_bangos",
                                            "birth_date", "address", "katagaki")]
    person_ids = {r[0] for r in _rows(con, "select person_id from lake.marts.dim_person")}
    household_ids = {r[0] for r in _rows(con, "select household_id from lake.marts.dim_household")}
    keys = {r[0] for r in _rows(con, "select person_key from lake.analysis.persons")}
    assert not keys & person_ids
    # not a plain hash of the person_id (anyone could recompute that), and not joinable to the products' keys
    some = sorted(person_ids)[:200]
    plain = {hashlib.sha256(p.encode()).hexdigest()[:20] for p in some} | {hashlib.md5(p.encode()).hexdigest()[:20]
                                                                          for p in some}
    assert not {k[1:] for k in keys} & plain
    product_keys = {r[0] for r in _rows(con, "select person_id from lake.product_shimin.residents union all "
                                             "select household_id from lake.product_shimin.residents")}
    assert not keys & product_keys and not household_ids & {r[0] for r in _rows(
        con, "select household_key from lake.analysis.households")}
    # only the zone's secret maps a person_id to its key; another secret gives other keys
    with platform_at(built_city):
        secret = zone_key()
    mapped = {pseudonym(secret, "person", p) for p in person_ids}
    assert keys <= mapped
    assert not keys & {pseudonym(b"another secret of 32 bytes or more!", "person", p) for p in person_ids}
    # no value of the zone is a known name, kana or 宛名番号 of the city
    names = {r[0] for r in _rows(con, "select name from lake.marts.dim_person where name is not null union "
                                      "select name_kana from lake.marts.dim_person where name_kana is not null union "
                                      "select unnest(atena_bangos) from lake.marts.dim_person")}
    values = {v for row in persons for v in row if isinstance(v, str)}
    assert names and not values & names


def test_the_analysis_zone_is_k_anonymous_and_keeps_chome_detail(con):
    cells = _rows(con, "select age_band, sex, area, household_size, count(*) from lake.analysis.persons group by all")
    assert cells and min(n for *_, n in cells) >= K
    assert len(cells) > 100  # not generalized into a few big cells
    households = _rows(con, "select area, household_size, members_under_18, count(*) from lake.analysis.households "
                            "group by all")
    assert households and min(n for *_, n in households) >= K
    kept, placed = _rows(con, "select count(*) filter (where area_level = 'chome'), count(*) "
                              "from lake.analysis.persons")[0]
    registry = _rows(con, "select count(*) from lake.marts.dim_person where status_source = 'juki'")[0][0]
    assert placed >= 0.95 * registry  # withheld persons are few
    per_chome = _rows(con, "select count(*) / count(distinct regexp_extract(address, '^(.+?丁目)', 1)) "
                           "filter (where address like '%丁目%') from lake.marts.dim_person where status = 'resident'")[0][0]
    required = 0.5 * min(1.0, per_chome / 300)  # dbt_project.yml: analysis_min_chome_share, analysis_chome_full_at
    print(f"丁目 kept for {kept / placed:.1%} of {placed} persons ({per_chome:.0f} residents per 丁目; "
          f"required {required:.1%}); {len(cells)} cells, smallest {min(n for *_, n in cells)}")
    assert kept / placed >= required > 0
    # every area named at 丁目 level is a 丁目 of the registry that holds enough persons
    assert not _rows(con, "select area from lake.analysis.persons where area_level = 'chome' and area not like '%丁目'")
