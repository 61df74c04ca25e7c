"""Value objects every canonical model is built from."""

from __future__ import annotations

import re
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

#: Control characters (C0, DEL, C1) and Unicode's line and paragraph separators. NUL in an ERP
#: field truncates or corrupts it; a line break in a name or an address line breaks labels and
#: EDI records. The published schemas carry no pattern for them (a pattern would narrow request
#: types inside published versions): the validators below refuse them with a 422 naming the field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must be one line of printable text: no control characters, tabs or line breaks")
    return value


def _printable(value: str) -> str:
    if _CONTROL_BUT_LAYOUT.search(value):
        raise ValueError("must be printable text: no control characters other than tabs and line breaks")
    return value


#: The check of ``Line``, to put after a ``Field`` that has a ``pattern``: pydantic leaves a pattern
#: out of the JSON schema when it comes after a validator (``Annotated[str, Field(pattern=...),
#: one_line]``, not ``Annotated[Line, Field(pattern=...)]``).
one_line = AfterValidator(_one_line)

#: Names, address lines, ids and references: one line of printable text (no tab, no line break).
Line = Annotated[str, one_line]

#: Free text a person writes (a reason, a note): printable, and tabs and line breaks are kept.
Text = Annotated[str, AfterValidator(_printable)]

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
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    line1: Annotated[Line, Field(min_length=1, max_length=200)]
    line2: Annotated[Line | None, Field(max_length=200)] = None
    city: Annotated[Line, Field(min_length=1, max_length=100)]
    postal_code: Annotated[Line, Field(min_length=1, max_length=20)]
    region: Annotated[Line | None, Field(max_length=100)] = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


def _positive(quantity: Quantity) -> Quantity:
    if quantity.amount <= 0:
        raise ValueError("quantity must be greater than zero")
    return quantity


#: A quantity ordered, reserved or received: more than zero.
PositiveQuantity = Annotated[Quantity, AfterValidator(_positive)]
