"""The authorization server's HTTP surface; public (no token needed to get a token).

The token endpoint refuses a client id or address with too many failed authentications
(tokenlimit.py) with a 429 problem+json, like every other 4xx of the gateway that is not an
RFC 6749 error.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gateway.keys import KeyStore
from gateway.oauth import (
    JWKS_PATH,
    METADATA_PATH,
    TOKEN_PATH,
    TokenFormError,
    authorization_server_metadata,
    issue_token,
    read_token_form,
)
from service_kit.db import SessionDep

router = APIRouter(tags=["oauth"])

_PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}

_TOKEN_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {
                            "type": "string",
                            "description": "Space-separated; a subset of the client's scopes (default: all).",
                        },
                        "client_id": {"type": "string", "description": "client_secret_post only"},
                        "client_secret": {"type": "string", "description": "client_secret_post only"},
                    },
                }
            }
        },
    }
}

_OAUTH_ERROR: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
            }
        }
    }
}


@router.post(
    TOKEN_PATH,
    operation_id="issueToken",
    summary="Get an access token (OAuth 2.0 client credentials)",
    description="HTTP Basic (client_secret_basic) or client_id/client_secret in the form (client_secret_post). "
    "Errors are RFC 6749 JSON (`invalid_client`, `invalid_scope`, `unsupported_grant_type`).",
    openapi_extra=_TOKEN_REQUEST,
    responses={
        200: {"description": "An RFC 9068 JWT access token (`Cache-Control: no-store`)"},
        400: {
            "description": "`invalid_scope`, `unsupported_grant_type` or `invalid_request` (two client "
            "authentication methods in one request, a parameter sent twice)",
            **_OAUTH_ERROR,
        },
        401: {"description": "`invalid_client`: unknown client, wrong secret or disabled client", **_OAUTH_ERROR},
        413: {
            "description": "The form is larger than `token_max_body_bytes` (8 KiB): problem+json",
            "content": {"application/problem+json": {"schema": {"type": "object"}}},
        },
        429: {
            "description": "Too many failed client authentications for this client id or from this address: "
            "problem+json with `Retry-After`; the secret is not checked until then",
            "content": {"application/problem+json": {"schema": {"type": "object"}}},
        },
    },
)
async def token(request: Request, session: SessionDep) -> Response:
    server = request.app.state.oauth_server
    try:
        form = await read_token_form(request, max_bytes=request.app.state.settings.token_max_body_bytes)
    except TokenFormError as exc:
        return server.handle_error_response(None, InvalidRequestError(description=str(exc)))
    return await issue_token(
        session=session,
        server=server,
        request=request,
        form=form,
        limiter=request.app.state.token_limiter,
    )


@router.get(JWKS_PATH, operation_id="getJwks", summary="The public keys access tokens are signed with")
async def jwks(request: Request) -> Response:
    keys: KeyStore = request.app.state.keys
    return JSONResponse(keys.ring.jwks, headers=_PUBLIC_CACHE)


@router.get(METADATA_PATH, operation_id="getAuthorizationServerMetadata", summary="RFC 8414 metadata")
async def metadata(request: Request) -> Response:
    return JSONResponse(authorization_server_metadata(request.app.state.settings), headers=_PUBLIC_CACHE)
