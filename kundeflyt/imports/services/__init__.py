"""Importing customer files: every write of the imports app, one module per family.

- ``setup``: upload, sheet, mapping, preview, start and cancel
- ``running``: the run itself (the background task's body)
- ``undo``: undoing an import
- ``common``: who may import where, and the batch's actor
"""

from kundeflyt.imports.services.common import IMPORTER, check_may_import
from kundeflyt.imports.services.running import CHUNK_ROWS, generated_id, run_import
from kundeflyt.imports.services.setup import (
    Preview,
    PreviewRow,
    import_cancel,
    import_discard,
    import_preview,
    import_sheet_choose,
    import_start,
    import_upload,
    mapping_by_headings,
    mapping_clean,
    mapping_of,
)
from kundeflyt.imports.services.undo import import_undo

__all__ = [
    "CHUNK_ROWS",
    "IMPORTER",
    "Preview",
    "PreviewRow",
    "check_may_import",
    "generated_id",
    "import_cancel",
    "import_discard",
    "import_preview",
    "import_sheet_choose",
    "import_start",
    "import_undo",
    "import_upload",
    "mapping_by_headings",
    "mapping_clean",
    "mapping_of",
    "run_import",
]
