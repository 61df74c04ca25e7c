"""Typed calls to the tier below, over ``service_kit``'s ``Upstream``: the expected answer -> a
canonical object; a 422 -> ``Refused`` (a business answer: the saga parks the row with it); a 404
of an object looked up -> None; anything else -> ``UpstreamUnavailable`` (retried with backoff).

Every write below is idempotent by the shipment or return id (ERP, WMS) or by kind + reference
(CRM notices), so each is sent with ``retry_safe`` and a crash between the call and its record
repeats the call harmlessly.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from service_kit.errors import UpstreamUnavailable
from service_kit.http import Upstream

M = TypeVar("M", bound=BaseModel)


class Refused(Exception):
    """The system below understood the request and said no."""

    def __init__(self, system: str, detail: str) -> None:
        super().__init__(detail)
        self.system = system
        self.detail = detail


def _problem_detail(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return str(body.get("detail")) if isinstance(body, dict) and body.get("detail") else None


def read(model: type[M], resp: httpx.Response, *, system: str) -> M:
    """The answer as ``model``, ignoring fields a newer system below may have added."""
    try:
        data = resp.json()
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k in model.model_fields}
        return model.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise UpstreamUnavailable(f"The {system} service answered a body this service cannot read.") from exc


class BaseClient:
    system = ""

    def __init__(self, api: Upstream, *, partner_id: str | None = None, correlation_id: str | None = None):
        self._api = api
        self._partner_id = partner_id
        self._headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}

    async def _write(self, path: str, body: dict[str, Any], *, action: str, ok: tuple[int, ...] = (200, 201)) -> Any:
        resp = await self._api.post(
            path, json=body, partner_id=self._partner_id, headers=dict(self._headers), retry_safe=True
        )
        return self._answer(resp, action=action, ok=ok)

    async def _read(self, path: str, *, action: str) -> httpx.Response | None:
        resp = await self._api.get(path, partner_id=self._partner_id, headers=dict(self._headers))
        if resp.status_code == 404:
            return None
        return self._answer(resp, action=action, ok=(200,))

    def _answer(self, resp: httpx.Response, *, action: str, ok: tuple[int, ...]) -> httpx.Response:
        if resp.status_code in ok:
            return resp
        detail = _problem_detail(resp)
        if resp.status_code in (404, 422):
            raise Refused(self.system, detail or f"the {self.system} service refused to {action}")
        said = f": {detail}" if detail else "."
        raise UpstreamUnavailable(f"The {self.system} service answered {resp.status_code} to {action}{said}")


__all__ = ["BaseClient", "Refused", "read"]
