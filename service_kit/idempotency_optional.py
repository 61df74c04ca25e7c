"""An optional Idempotency-Key, for operations published before they took one.

Making a header required on a published version is a breaking change, so such an operation takes
the key optionally: with the header it gets exactly ``service_kit.idempotency``'s semantics (same
key and body replay the first answer, another body 422, in flight 409, scoped per client);
without it the dependency is ``None`` and the operation relies on its own natural key.

Kept apart from ``service_kit.idempotency`` so that module stays the one place the semantics are
defined; this one only makes the header optional.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request

from service_kit.auth import Authenticated
from service_kit.errors import BadRequest
from service_kit.idempotency import MAX_KEY_LENGTH, Idempotency, fingerprint


async def _optional_idempotency(
    request: Request,
    principal: Authenticated,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            description="Optional. A unique key per logical request (at most 255 characters). Retrying "
            "with the same key and body replays the first answer; the same key with another body is a 422.",
        ),
    ] = None,
) -> AsyncIterator[Idempotency | None]:
    if idempotency_key is None:
        yield None
        return
    key = idempotency_key.strip()
    if not key:
        raise BadRequest("The Idempotency-Key header is empty.")
    idem = Idempotency(
        request.app.state.db,
        scope=principal.client_id,
        key=key,
        fingerprint=fingerprint(request.method, request.url.path, await request.body()),
    )
    try:
        yield idem
    except BaseException:
        await idem.abandon()
        raise
    else:
        # Nothing recorded an answer (the operation did not use the key): free it for a retry.
        await idem.abandon()


#: ``None`` when the request carries no Idempotency-Key; the key is scoped to the authenticated client.
OptionalIdempotencyDep = Annotated[Idempotency | None, Depends(_optional_idempotency, scope="function")]

__all__ = ["OptionalIdempotencyDep"]
