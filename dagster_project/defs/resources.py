"""The platform's settings as a Dagster resource: assets read them when they run, never at import."""

from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from core.settings import Settings, get_settings
from ingestion.pipeline import Ingestor


class Platform(dg.ConfigurableResource):
    """The settings of this platform (environment, ``ONESOURCE_*``), with a run's own landing zone when given
    (``onesource build --landing DIR``); and, for the systems a run loads, one loader between them."""

    landing: str | None = None
    _ingestor: Ingestor | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        settings = get_settings()
        if self.landing:
            settings = settings.model_copy(update={"landing": Path(self.landing)})
        return settings

    def ingestor(self) -> Ingestor:
        """One loader (one lake connection, the contracts, the tokenizer) for every system of the run: a run
        that loads a day's deliveries of seven systems opens the lake once, as `onesource refresh` does."""
        if self._ingestor is None:
            self._ingestor = Ingestor(self.settings())
        return self._ingestor

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._ingestor is not None:
            self._ingestor.con.close()
            self._ingestor = None


OWNER = "team:DX推進課"  # the data team owns what is not a department's own system
