"""The B2B service's own settings (``INTERCHANGE_B2B_<NAME>``) beside the kit's."""

from __future__ import annotations

from service_kit.settings import ServiceSettings


class B2bSettings(ServiceSettings):
    #: The channel its purchase orders carry in the orders process (``channel`` of the canonical order).
    channel: str = "b2b"
    #: How long a quote's prices hold (a purchase order naming it after that is refused), in hours.
    quote_valid_hours: float = 72.0
