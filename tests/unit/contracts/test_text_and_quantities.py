"""The shared value types: ``Line`` (names, addresses, ids: one printable line), ``Text`` (free
text: printable, tabs and line breaks kept) and ``PositiveQuantity``."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from contracts.common import Line, PositiveQuantity, Quantity, Text, one_line


class Sample(BaseModel):
    line: Line = "x"
    text: Text = "x"
    patterned: Annotated[str, Field(pattern=r"^h"), one_line] = "h"
    quantity: PositiveQuantity = Quantity.of(1)


@pytest.mark.parametrize("bad", ["a\x00b", "a\tb", "a\nb", "a\rb", "a\x1bb", "a\x7fb", "a\x85b", "a\u2028b"])
def test_a_line_refuses_control_characters_tabs_and_line_breaks(bad: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Sample(line=bad)
    assert raised.value.errors()[0]["loc"] == ("line",)


def test_text_keeps_tabs_and_line_breaks_and_refuses_other_control_characters() -> None:
    assert Sample(text="first line\r\n\tsecond line").text == "first line\r\n\tsecond line"
    for bad in ("a\x00b", "a\x1bb", "a\x0bb", "a\u2029b"):
        with pytest.raises(ValidationError):
            Sample(text=bad)


def test_printable_unicode_passes_and_a_pattern_stays_in_the_schema() -> None:
    assert Sample(line="Zoë Ångström, Straße 1 — 東京").line == "Zoë Ångström, Straße 1 — 東京"
    assert Sample.model_json_schema()["properties"]["patterned"]["pattern"] == "^h"
    with pytest.raises(ValidationError):
        Sample(patterned="h\x00")


@pytest.mark.parametrize("value", ["0", "0.000"])
def test_a_positive_quantity_refuses_zero(value: str) -> None:
    with pytest.raises(ValidationError, match="greater than zero"):
        Sample(quantity=Quantity(value=value))
