"""The ERP system API's own knobs, on top of what every service has.

Environment: ``INTERCHANGE_ERP_<NAME>``, e.g. ``INTERCHANGE_ERP_CALL_QUOTA_PER_SECOND=20``.
"""

from __future__ import annotations

from service_kit.settings import ServiceSettings


class ErpSettings(ServiceSettings):
    #: API calls the ERP answers per second across all callers, like a cloud ERP's quota; the
    #: next one in the same second gets 429 with Retry-After. 0 means no quota.
    call_quota_per_second: int = 0


__all__ = ["ErpSettings"]
