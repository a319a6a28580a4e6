"""Loads the payment processor's daily balance transactions, with their manifests.

Reads `payments/YYYY-MM-DD/` below the landing zone into the `raw_payments` dataset: table
`balance_transactions` rows, `manifests`, `landed_files` and `rejected_files` (see
`ingest.landed_files`). Config: `landing_url`, passed by the runner. No secrets.
"""

from ingest.contract import PAYMENTS
from ingest.landed_files import delivery_source

payments = delivery_source(PAYMENTS)
