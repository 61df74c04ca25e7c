"""The gateway (port 8000): the OAuth 2.0 authorization server of the suite and the only way in.

settings.py   GatewaySettings (tokens and keys, contracts, request caps, audit, rate limits)
models.py     its own tables: OAuth clients (hashed secrets), signing keys, deprecation dates, audit
clients.py    the client registry, as called by ``interchange clients ...`` and tests; the cached
              list of disabled clients the proxy refuses
keys.py       the signing keys: generated on first start, kept in the database, rotated by
              ``interchange keys rotate`` (published before they sign, kept until their tokens expire)
oauth.py      client-credentials token issuance on authlib (RFC 6749 4.4, RFC 9068 JWTs)
routes.py     POST /oauth2/token, GET /.well-known/jwks.json, /.well-known/oauth-authorization-server
routing.py    the routing table, built from the committed contracts at start-up, with each
              operation's scopes and compiled body schema and each version's lifecycle
proxy.py      the streaming reverse proxy: /<api>/<vN>/... to the owning service, through its steps
forward.py    the hop to the service (pyreqwest, or httpx in process); its failures as 502/503/504
answers.py    the answer on its way down: a problem's instance as the partner's path
policy.py     the contract's steps: sunset (410), scopes (403), request body (413/415/400/422)
bodies.py     request bodies against the contract: caps, media types, JSON depth and schema
versions.py   Deprecation / Sunset / Link headers of a deprecated version, 410 after its sunset
ratelimit.py  rate limits per client and operation class, by tier (429)
counters.py   the counters both limiters share: one Redis pool, the fallback while it is away
tokenlimit.py failed client authentications at the token endpoint (429), per id and address
audit.py      one record per proxied call, queued and written in batches off the request path
app.py        ``create_app``, the factory (any ASGI server: ``uvicorn --factory gateway.app:create_app``)
serve.py      how ``interchange up`` serves it: granian, embedded (``python -m gateway.serve``)

Who may call what (the token's claims, RFC 9068 plus ours): ``kind`` (partner, service, internal)
decides whether process APIs exist for the caller (internal only; system APIs never); ``scope``
is checked against each operation's ``security``; ``tier`` picks the rate limits; ``partner_id``
and ``channel`` go up with the token for the services' ownership checks.

With an external issuer (``INTERCHANGE_GATEWAY_EXTERNAL_ISSUER=true``, ``INTERCHANGE_ISSUER``,
``INTERCHANGE_JWKS_URL``) the gateway serves no token endpoint, JWKS or metadata, and verifies the
issuer's tokens against its JWKS. They must be RFC 9068 access tokens (``typ: at+jwt``, RS256)
with ``iss``, ``aud`` (``INTERCHANGE_AUDIENCE``), ``exp``, ``iat``, ``sub``, ``jti`` and
``client_id``, and the claims above mapped in (``kind``, ``scope``, ``tier``, ``partner_id``,
``channel``): a token without ``kind: internal`` reaches no process API.
"""
