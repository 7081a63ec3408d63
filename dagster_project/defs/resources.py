"""The platform's settings as a Dagster resource: assets read them when they run, never at import."""

from pathlib import Path

import dagster as dg

from onesource.core.settings import Settings, get_settings


class Platform(dg.ConfigurableResource):
    """The settings of this platform (environment, ``ONESOURCE_*``), with a run's own landing zone when given
    (``onesource build --landing DIR``)."""

    landing: str | None = None

    def settings(self) -> Settings:
        settings = get_settings()
        if self.landing:
            settings = settings.model_copy(update={"landing": Path(self.landing)})
        return settings


OWNER = "team:DX推進課"  # the data team owns what is not a department's own system
