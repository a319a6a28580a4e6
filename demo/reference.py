"""Fixed reference data of the demo world: currencies, markets, catalogue, accounts, ids.

Everything here is a constant or a pure function of its arguments, so the generator can derive
a customer's country or name from the customer's number instead of remembering it.
"""

from __future__ import annotations

from datetime import date

CURRENCIES = ("EUR", "USD", "GBP", "SEK")
CURRENCY_INDEX = {code: index for index, code in enumerate(CURRENCIES)}
REPORTING_CURRENCY = "EUR"
# Starting reference rates (1 EUR = rate units), as integers in 1/10,000.
FX_START_E4 = {"USD": 10832, "GBP": 8571, "SEK": 112345}

# Market weights: where customers live, and the currency they pay in.
COUNTRIES = (
    ("DE", "EUR", 28),
    ("FR", "EUR", 14),
    ("NL", "EUR", 9),
    ("ES", "EUR", 7),
    ("IT", "EUR", 6),
    ("US", "USD", 17),
    ("GB", "GBP", 12),
    ("SE", "SEK", 7),
)
_COUNTRY_SLOTS = tuple(
    index for index, (_, _, weight) in enumerate(COUNTRIES) for _ in range(weight)
)

FIRST_NAMES = (
    "anna", "ben", "clara", "david", "elif", "felix", "greta", "hugo", "ines", "jonas",
    "karin", "lars", "maya", "noah", "olga", "paul", "quinn", "rosa", "sven", "tara",
    "umar", "vera", "will", "xenia", "yusuf", "zoe",
)  # fmt: skip
LAST_NAMES = (
    "berg", "costa", "dubois", "eriksson", "fischer", "garcia", "hansen", "jones", "klein",
    "larsen", "martin", "novak", "olsen", "petit", "rossi", "smith", "taylor", "vos", "weber",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "post.example")

# Category, product nouns, and the list price range in EUR cents.
CATEGORIES = (
    ("apparel", ("T-shirt", "Hoodie", "Rain jacket", "Wool socks", "Cap"), 1500, 12000),
    ("electronics", ("Headphones", "Power bank", "Smart plug", "Webcam", "Keyboard"), 2500, 25000),
    ("home", ("Mug set", "Desk lamp", "Throw blanket", "Plant pot", "Candle"), 800, 9000),
    ("books", ("Cookbook", "Travel guide", "Novel", "Atlas", "Notebook"), 600, 4500),
    ("sports", ("Yoga mat", "Water bottle", "Running belt", "Dumbbell", "Jump rope"), 900, 8000),
    ("beauty", ("Face cream", "Shampoo", "Lip balm", "Sunscreen", "Hand soap"), 500, 5000),
)
ADJECTIVES = ("Classic", "Urban", "Nordic", "Eco", "Pro", "Mini", "Deluxe", "Everyday")

# Chart of accounts the ERP posts to (DESIGN.md, ledger).
ACCOUNT_BANK = "1000"
ACCOUNT_CLEARING = "1100"
ACCOUNT_REVENUE = "4000"
ACCOUNT_REFUNDS = "4100"
ACCOUNT_PROCESSING_FEES = "6100"
ACCOUNT_RENT = "6200"
ACCOUNT_SALARIES = "6300"
ACCOUNT_OTHER_EXPENSES = "6400"

PROCESSOR_COUNTERPARTY = "Payment processor"
CARD_MERCHANTS = (
    ("Cloud hosting EMEA", "EUR"),
    ("Parcel carrier", "EUR"),
    ("Office supplies", "EUR"),
    ("Ad network", "USD"),
    ("Design tools", "USD"),
    ("London courier", "GBP"),
)

_EPOCH = date(2000, 1, 1)


def mix(number: int) -> int:
    """A cheap, stable 32-bit scramble of `number` (not random, but well spread)."""
    value = (number * 0x9E3779B1) & 0xFFFFFFFF
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & 0xFFFFFFFF
    return value ^ (value >> 13)


def customer_country(customer_number: int) -> tuple[str, str]:
    """The (country, currency) of a customer, fixed for life by the customer's number."""
    country, currency, _ = COUNTRIES[_COUNTRY_SLOTS[mix(customer_number) % len(_COUNTRY_SLOTS)]]
    return country, currency


def customer_name(customer_number: int) -> tuple[str, str]:
    """The (first, last) name of a customer, fixed by the customer's number."""
    scrambled = mix(customer_number + 7)
    first = FIRST_NAMES[scrambled % len(FIRST_NAMES)]
    last = LAST_NAMES[(scrambled >> 8) % len(LAST_NAMES)]
    return first, last


def product_popularity(product_number: int) -> int:
    """How often a product sells relative to others (1..10), fixed by its number."""
    return 1 + mix(product_number + 13) % 10


def payout_number(payout_date: date, currency: str) -> int:
    """The processor's payout number: days since 2000-01-01 times 4 plus the currency index."""
    return (payout_date - _EPOCH).days * 4 + CURRENCY_INDEX[currency]


def payout_id(payout_date: date, currency: str) -> str:
    """`po_` and six digits, e.g. `po_036543`: one payout per day and currency."""
    return f"po_{payout_number(payout_date, currency):06d}"


def customer_id(number: int) -> str:
    return f"cus_{number:07d}"


def product_id(number: int) -> str:
    return f"prd_{number:05d}"


def order_id(number: int) -> str:
    return f"ord_{number:08d}"


def order_line_id(number: int) -> str:
    return f"oln_{number:09d}"


def transaction_id(number: int) -> str:
    return f"txn_{number:09d}"


def bank_line_id(number: int) -> str:
    return f"bnk_{number:08d}"


def journal_id(number: int) -> str:
    return f"jr_{number:08d}"


def processing_fee_minor(amount_minor: int) -> int:
    """The processor's fee on a charge: 2.9 % rounded half up, plus 30 minor units."""
    return (amount_minor * 29 + 500) // 1000 + 30


def format_major(amount_minor: int) -> str:
    """Minor units as a signed decimal with two places: -123456 -> `-1234.56`."""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_rate(rate_e4: int) -> str:
    """A rate held in 1/10,000 as a string with four decimals: 10832 -> `1.0832`."""
    whole, fraction = divmod(rate_e4, 10000)
    return f"{whole}.{fraction:04d}"
