"""The WMS's own problem: a reservation the stock of one warehouse cannot cover."""

from __future__ import annotations

from service_kit.errors import BusinessRuleViolation


class InsufficientStock(BusinessRuleViolation):
    """422 ``urn:interchange:problem:insufficient-stock``; ``errors`` names each short SKU."""

    slug, title = "insufficient-stock", "Not enough stock"


class PickingTooLate(BusinessRuleViolation):
    """422 ``urn:interchange:problem:picking-too-late``: the goods are already picked."""

    slug, title = "picking-too-late", "Too late to cancel picking"
