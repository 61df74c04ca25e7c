"""The service's answer on its way down to the partner, and the one change made to it: a
problem's ``instance``.

A service names the path it was called at (``/v1/orders/MP-1``) as the ``instance`` of its
RFC 9457 problems; the partner called ``/marketplace/v1/orders/MP-1``. So an error answer whose
body is ``application/problem+json`` (not compressed, at most ``MAX_PROBLEM_BYTES``) is read
whole, and an ``instance`` that is a path of this API at the service becomes the same path as
the partner sees it (``Content-Length`` follows). Every other answer, success or error, streams
down as the service sent its bytes, untouched: rewriting at the gateway needs no header the
services would have to trust, and costs nothing on the answers that are not problems.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

from starlette.types import Send

from gateway.routing import ApiRoute

Header = tuple[bytes, bytes]
PROBLEM = b"application/problem+json"
#: A problem body larger than this is passed as it is (the kit's problems are a few hundred bytes).
MAX_PROBLEM_BYTES = 65_536


class Down(Protocol):
    """What this needs of the proxy's Exchange."""

    route: ApiRoute
    response_headers: list[Header]


async def send_down(
    send: Send,
    request: Down,
    status: int,
    headers: list[Header],
    body: AsyncIterator[bytes],
    *,
    length: int | None = None,
) -> None:
    """Send the service's answer: ``headers`` (already filtered) plus the gateway's own, then the
    body as it comes; a problem with the public ``instance`` (module docstring). With the body's
    ``length`` (its Content-Length) the chunk that completes it ends the answer in the same send:
    one hand-off to the server fewer per call, and the server sends a whole answer rather than
    a stream (the cheaper path in granian: bench/README.md)."""
    if status >= 400 and _is_plain_problem(headers):
        read = b""
        async for chunk in body:
            read += chunk
            if len(read) > MAX_PROBLEM_BYTES:
                break
        else:
            rewritten = public_instance(read, request.route)
            if rewritten is not None:
                read = rewritten
                headers = [h for h in headers if h[0] != b"content-length"]
                headers.append((b"content-length", b"%d" % len(read)))
            await _start(send, status, headers + request.response_headers)
            await send({"type": "http.response.body", "body": read, "more_body": False})
            return
        await _start(send, status, headers + request.response_headers)
        await send({"type": "http.response.body", "body": read, "more_body": True})
        sent = len(read)
    else:
        await _start(send, status, headers + request.response_headers)
        sent = 0
    if length is not None and sent >= length:  # nothing (more) to come: an empty body
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    ended = False
    async for chunk in body:
        if ended:  # past its Content-Length: both forwarders' readers stop there, so never
            break
        sent += len(chunk)
        ended = length is not None and sent >= length
        await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
    # The loop runs on to the body's own end (no read: both readers know it from the length)
    # rather than returning after the last chunk: a body left suspended is closed by the event
    # loop's async-generator finalizer, a task and a self-pipe write per call.
    if not ended:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def public_instance(body: bytes, route: ApiRoute) -> bytes | None:
    """The problem ``body`` with its ``instance`` as the partner's path, or ``None`` when there is
    nothing to change (no instance, not a path of this API at the service, not a JSON object)."""
    try:
        problem: Any = json.loads(body)
    except ValueError:
        return None
    instance = problem.get("instance") if isinstance(problem, dict) else None
    if not isinstance(instance, str):
        return None
    prefix = route.upstream_prefix.decode("latin-1")
    rest = instance[len(prefix) :] if instance.startswith(prefix + "/") else None
    version = "/" + route.version
    if rest is None or not (rest == version or rest.startswith(version + "/")):
        return None
    problem["instance"] = f"/{route.api}{rest}"
    return json.dumps(problem).encode()


def _is_plain_problem(headers: list[Header]) -> bool:
    problem = False
    for name, value in headers:
        if name == b"content-type":
            problem = value.partition(b";")[0].strip().lower() == PROBLEM
        elif name == b"content-encoding" and value.strip().lower() != b"identity":
            return False
    return problem


async def _start(send: Send, status: int, headers: list[Header]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


__all__ = ["MAX_PROBLEM_BYTES", "public_instance", "send_down"]
