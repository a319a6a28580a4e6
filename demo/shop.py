"""The demo web shop's OLTP database: SQLite at `<landing>/shop/shop.db`, all columns text.

Rows change in place and carry `updated_at`, like a real shop's tables; the ingest copies every
version it sees. Each generated day is written in one transaction with `executemany`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from demo.reference import product_popularity

SHOP_DB_RELATIVE_PATH = "shop/shop.db"

_SCHEMA = (
    """create table if not exists customers (
        customer_id text primary key,
        email text,
        country_code text,
        created_at text,
        updated_at text
    )""",
    """create table if not exists products (
        product_id text primary key,
        sku text,
        name text,
        category text,
        list_price_minor text,
        currency text,
        updated_at text
    )""",
    """create table if not exists orders (
        order_id text primary key,
        customer_id text,
        status text,
        currency text,
        total_minor text,
        ordered_at text,
        updated_at text
    )""",
    """create table if not exists order_lines (
        order_line_id text primary key,
        order_id text,
        product_id text,
        quantity text,
        unit_price_minor text,
        updated_at text
    )""",
    # Incremental extraction reads `where updated_at > last value`.
    "create index if not exists customers_updated_at on customers (updated_at)",
    "create index if not exists products_updated_at on products (updated_at)",
    "create index if not exists orders_updated_at on orders (updated_at)",
    "create index if not exists order_lines_updated_at on order_lines (updated_at)",
)


@dataclass
class Product:
    """A catalogue entry as the generator keeps it in memory (a few hundred at most)."""

    number: int
    product_id: str
    sku: str
    name: str
    category: str
    list_price_minor: int
    popularity: int


@dataclass
class ShopDay:
    """Every change one day makes to the shop, applied in one transaction."""

    new_customers: list[tuple[str, str, str, str, str]]
    new_products: list[tuple[str, str, str, str, str, str, str]]
    new_orders: list[tuple[str, str, str, str, str, str, str]]
    new_order_lines: list[tuple[str, str, str, str, str, str]]
    # (status, updated_at, order_id)
    order_updates: list[tuple[str, str, str]]
    # (email, updated_at, customer_id)
    email_updates: list[tuple[str, str, str]]
    # (list_price_minor, updated_at, product_id)
    price_updates: list[tuple[str, str, str]]

    @classmethod
    def empty(cls) -> ShopDay:
        return cls([], [], [], [], [], [], [])


class ShopDatabase:
    """The shop's SQLite file, created on first use and extended on later runs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._connection = sqlite3.connect(path)
        self._connection.execute("pragma synchronous = normal")
        with self._connection:
            for statement in _SCHEMA:
                self._connection.execute(statement)

    def load_products(self) -> list[Product]:
        """The current catalogue, in product id order."""
        rows = self._connection.execute(
            "select product_id, sku, name, category, list_price_minor from products"
            " order by product_id"
        ).fetchall()
        return [
            Product(
                number=int(product_id.removeprefix("prd_")),
                product_id=product_id,
                sku=sku,
                name=name,
                category=category,
                list_price_minor=int(price),
                popularity=product_popularity(int(product_id.removeprefix("prd_"))),
            )
            for product_id, sku, name, category, price in rows
        ]

    def apply(self, day: ShopDay) -> None:
        """Write one day's changes in a single transaction."""
        statements: Sequence[tuple[str, Sequence[tuple[str, ...]]]] = (
            ("insert into customers values (?, ?, ?, ?, ?)", day.new_customers),
            ("insert into products values (?, ?, ?, ?, ?, ?, ?)", day.new_products),
            ("insert into orders values (?, ?, ?, ?, ?, ?, ?)", day.new_orders),
            ("insert into order_lines values (?, ?, ?, ?, ?, ?)", day.new_order_lines),
            ("update orders set status = ?, updated_at = ? where order_id = ?", day.order_updates),
            (
                "update customers set email = ?, updated_at = ? where customer_id = ?",
                day.email_updates,
            ),
            (
                "update products set list_price_minor = ?, updated_at = ? where product_id = ?",
                day.price_updates,
            ),
        )
        with self._connection:
            for sql, rows in statements:
                if rows:
                    self._connection.executemany(sql, rows)

    def close(self) -> None:
        self._connection.close()
