"""Import a legacy data directory (``import_legacy_dir``): one module per file kind."""
from legacy.importing.report import FileReport, ImportReport
from legacy.importing.run import DEFAULT_BATCH_SIZE, import_legacy_dir

__all__ = ["DEFAULT_BATCH_SIZE", "FileReport", "ImportReport", "import_legacy_dir"]
