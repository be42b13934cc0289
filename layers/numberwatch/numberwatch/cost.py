"""What the numbers cost: an operator's price table (a daily rate per country and number type, with
its source and date) applied to the numbers held. Pure.

The repository ships `data/number-prices.example.json`, whose figures are examples marked as such,
not AWS prices: a deployment passes its own table (the `NumberPrices` parameter, `NUMBER_PRICES`). A
month is 30 days. A country missing from the table falls back to its "*" row; a number type missing
there too has no price, and is counted apart rather than guessed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

DAYS_A_MONTH = 30
EXAMPLE_TABLE = "number-prices.example.json"


class PriceTableError(ValueError):
    """The price table is not what `PriceTable.parse` expects; the message says what is wrong."""


@dataclass(frozen=True)
class Estimate:
    monthly: float
    unpriced: int  # numbers with no rate in the table


@dataclass(frozen=True)
class PriceTable:
    currency: str
    source: str
    as_of: str
    example: bool
    daily: Mapping[str, Mapping[str, float]]  # country (or "*") -> number type -> daily rate

    @classmethod
    def parse(cls, text: str) -> PriceTable:
        try:
            document: Any = json.loads(text)
            daily = {
                str(country): {str(kind): float(rate) for kind, rate in rates.items()}
                for country, rates in document["daily"].items()
            }
            table = cls(
                str(document["currency"]), str(document["source"]), str(document["as_of"]),
                bool(document.get("example", False)), daily,
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PriceTableError(
                'expected {"currency", "source", "as_of", "daily": {country: {number type: daily rate}}}: '
                f"{type(exc).__name__}: {exc}"
            ) from None
        if any(rate < 0 for rates in daily.values() for rate in rates.values()):
            raise PriceTableError("a daily rate is negative")
        return table

    @classmethod
    def example_table(cls) -> PriceTable:
        return cls.parse((resources.files("numberwatch") / "data" / EXAMPLE_TABLE).read_text())

    def __hash__(self) -> int:
        rows = tuple(sorted((country, tuple(sorted(rates.items()))) for country, rates in self.daily.items()))
        return hash((self.currency, self.source, self.as_of, self.example, rows))

    def daily_rate(self, country: str, number_type: str) -> float | None:
        for row in (country, "*"):
            rate = self.daily.get(row, {}).get(number_type)
            if rate is not None:
                return rate
        return None

    def estimate(self, numbers: Counter[tuple[str, str]]) -> Estimate:
        """The monthly cost of numbers counted by (country, type)."""
        monthly = 0.0
        unpriced = 0
        for (country, number_type), count in numbers.items():
            rate = self.daily_rate(country, number_type)
            if rate is None:
                unpriced += count
            else:
                monthly += rate * count * DAYS_A_MONTH
        return Estimate(round(monthly, 2), unpriced)

    def describe_source(self) -> str:
        kind = "EXAMPLE prices (replace them)" if self.example else "prices"
        return f"{kind}: {self.source}, as of {self.as_of}"
