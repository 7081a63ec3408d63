"""The city's clock: Japan Standard Time, for every date the platform reads or writes (a delivery's day, a
watermark without an offset, a release's data date, the schedules)."""

from __future__ import annotations

import datetime as dt

TIMEZONE = "Asia/Tokyo"  # the IANA name, for Dagster's schedules and SQL (`SET TIME ZONE`)
JST = dt.timezone(dt.timedelta(hours=9), "JST")  # Japan has had no daylight saving time since 1951


def today() -> dt.date:
    """Today in Ichikawa."""
    return dt.datetime.now(JST).date()
