"""Loads the shop's OLTP tables: customers, products, orders and order lines.

Reads the shop database with dlt's `sql_database` source and the pyarrow backend into the
`raw_shop` dataset. Each table is incremental on `updated_at` and appended, so raw keeps every
version of a row that an ingest saw, not only the latest. Config and secrets: the database URL
comes from `TALLY_SHOP_URL` or dlt's `sources.shop.credentials` secret; by default the demo's
SQLite file `shop/shop.db` in the landing zone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import dlt
from dlt.extract.resource import DltResource
from dlt.sources.sql_database import sql_database

from ingest.contract import SHOP_TABLES

CURSOR_COLUMN = "updated_at"


@dlt.source(name="shop", max_table_nesting=0)
def shop(
    credentials: str = dlt.secrets.value, table_names: Sequence[str] = SHOP_TABLES
) -> Iterator[DltResource]:
    """The shop's tables, each incremental on `updated_at` and append-only.

    Args:
        credentials: a SQLAlchemy URL of the shop database.
        table_names: the tables to load.

    Yields:
        One resource per table.
    """
    database = sql_database(
        credentials=credentials,
        table_names=list(table_names),
        backend="pyarrow",
        reflection_level="full",
        chunk_size=100_000,
    )
    for table_name in table_names:
        resource = database.resources[table_name]
        resource.apply_hints(
            write_disposition="append",
            incremental=dlt.sources.incremental(CURSOR_COLUMN, row_order="asc"),
        )
        yield resource
