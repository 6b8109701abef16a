"""Which importer reads which table of the configuration: one line per feed."""

from __future__ import annotations

from .base import FeedImporter
from .config import ConfigError, ImportConfig
from .focus import FocusImporter
from .opencost import OpenCostImporter
from .slurm import SlurmImporter
from .timesheets import TimesheetImporter
from .usage import UsageImporter

# One line per feed (its `feed` is the name of its TOML table).
IMPORTERS: tuple[type[FeedImporter], ...] = (
    TimesheetImporter,
    SlurmImporter,
    OpenCostImporter,
    FocusImporter,
    UsageImporter,
)


def build_importers(config: ImportConfig) -> list[FeedImporter]:
    """One importer per table present in `config`, each validating its table (ConfigError)."""
    by_feed = {importer.feed: importer for importer in IMPORTERS}
    importers: list[FeedImporter] = []
    for table in config.sections:
        importer = by_feed.get(table)
        if importer is None:
            raise ConfigError(
                config.path, table, None, "no importer for this feed in this version of lab-import"
            )
        importers.append(importer(config))
    return importers
