"""Loads the bank's daily statements, with their manifests.

Reads `bank/YYYY-MM-DD/` below the landing zone into the `raw_bank` dataset: table
`statement_lines` rows, `manifests`, `landed_files` and `rejected_files` (see
`ingest.landed_files`). Config: `landing_url`, passed by the runner. No secrets.
"""

from ingest.contract import BANK
from ingest.landed_files import delivery_source

bank = delivery_source(BANK)
