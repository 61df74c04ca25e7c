"""Value objects every canonical model is built from."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["EUR"])]


#: Canonical units of measure: EA each, CS case, PK pack, KG kilogram, M metre.
def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: A timestamp that always carries its zone on the wire. SQLite hands datetimes back naive; every
#: one we store is UTC, so a naive value is read as UTC.
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]

UnitCode = Annotated[str, Field(pattern=r"^(EA|CS|PK|KG|M)$", description="Canonical unit of measure")]

Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9._\-]*$", examples=["WIDGET-BLUE"])]


class CanonicalModel(BaseModel):
    """Canonical objects reject unknown fields: a typo is an error, not silently dropped data."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class Money(CanonicalModel):
    amount: Annotated[
        str,
        Field(
            pattern=r"^-?\d{1,12}(\.\d{1,4})?$",
            description="Decimal amount as a string",
            examples=["19.99"],
        ),
    ]
    currency: CurrencyCode

    @property
    def value(self) -> Decimal:
        return Decimal(self.amount)

    @classmethod
    def of(cls, value: Decimal | int | str, currency: str) -> Money:
        return cls(amount=format(Decimal(value).quantize(Decimal("0.01")), "f"), currency=currency)


class Quantity(CanonicalModel):
    value: Annotated[
        str,
        Field(pattern=r"^\d{1,9}(\.\d{1,3})?$", description="Decimal quantity as a string", examples=["2"]),
    ]
    unit: UnitCode = "EA"

    @property
    def amount(self) -> Decimal:
        return Decimal(self.value)

    @classmethod
    def of(cls, value: Decimal | int | str, unit: str = "EA") -> Quantity:
        return cls(value=format(Decimal(value).normalize(), "f"), unit=unit)


class Address(CanonicalModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    region: Annotated[str | None, Field(max_length=100)] = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
