"""The gateway (port 8000): the OAuth 2.0 authorization server of the suite and the only way in.

settings.py   GatewaySettings (token lifetime, contracts directory)
models.py     its own tables: OAuth clients (hashed secrets) and signing keys
clients.py    the client registry, as called by ``interchange clients ...`` and tests
keys.py       the signing keys: generated on first start, kept in the database
oauth.py      client-credentials token issuance on authlib (RFC 6749 4.4, RFC 9068 JWTs)
routes.py     POST /oauth2/token, GET /.well-known/jwks.json, /.well-known/oauth-authorization-server
routing.py    the routing table, built from the committed contracts at start-up
proxy.py      the streaming reverse proxy: /<api>/<vN>/... to the owning service
app.py        ``create_app``, the factory (``uvicorn --factory gateway.app:create_app``)
"""
