"""Loads the general ledger's daily journal line exports, with their manifests.

Reads `ledger/YYYY-MM-DD/` below the landing zone into the `raw_ledger` dataset: table
`journal_lines` rows, `manifests`, `landed_files` and `rejected_files` (see
`ingest.landed_files`). Config: `landing_url`, passed by the runner. No secrets.
"""

from ingest.contract import LEDGER
from ingest.landed_files import delivery_source

ledger = delivery_source(LEDGER)
