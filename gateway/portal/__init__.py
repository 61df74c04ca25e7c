"""The developer portal at ``/developers``: every partner-facing API and version the gateway
serves, from the committed contracts, with Swagger UI served locally and "try it" against the
gateway; a getting-started page, the changelog between versions and the webhooks.

- ``catalog``: which contracts are partner-facing, rewritten for partners (servers, token URL, scopes);
- ``changelog``: what changed between versions, by the breaking-change gate's comparison;
- ``examples``: an operation's own request and response examples;
- ``pages``: the HTML, built on first use;
- ``routes``: ``router``, mounted by ``gateway.app`` (public).
"""

from gateway.portal.routes import router

__all__ = ["router"]
