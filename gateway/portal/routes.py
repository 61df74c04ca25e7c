"""The portal's HTTP surface, public (no token): ``/developers`` and the pages under it.

Every path has at most two segments: ``/<api>/<vN>/...`` (three or more) is the proxy's
(``gateway.proxy.is_proxied``), so a version's page is ``/developers/<api>-<vN>`` and its
document ``/developers/<api>-<vN>.json``. The reference pages run Swagger UI from the files of the
``fastapi-swagger`` package (it follows Swagger UI's releases), served from here: nothing is
fetched from a CDN, and the Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, HTMLResponse, Response

from gateway.routing import default_contracts_dir
from service_kit.errors import NotFound

if TYPE_CHECKING:
    from gateway.portal.pages import Portal

router = APIRouter(include_in_schema=False)

PREFIX = "/developers"
_STATIC = Path(__file__).parent / "static"
#: Served files, by name under /developers/: the portal's own, and Swagger UI's.
ASSETS = {
    "portal.js": (_STATIC, "text/javascript"),
    "portal.css": (_STATIC, "text/css"),
    "swagger-ui-bundle.js": (None, "text/javascript"),
    "swagger-ui.css": (None, "text/css"),
}
_PAGE = re.compile(r"^(?P<slug>[a-z0-9_]+(?:-[a-z0-9_]+)*-v[0-9]+)(?P<json>\.json)?$")
HTML_HEADERS = {
    # Swagger UI styles elements inline and shows images as data: URIs; every script is a file from here.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
ASSET_HEADERS = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
#: A client id as the gateway's registry takes it (``interchange clients create``).
CLIENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
ClientId = Annotated[
    str | None,
    Query(pattern=CLIENT_ID, max_length=128, description="Your client id, filled into the examples"),
]


def portal(request: Request) -> Portal:
    """The app's portal, built on the first portal request (pages.py says why)."""
    built: Portal | None = getattr(request.app.state, "portal", None)
    if built is None:
        from gateway.portal.pages import Portal

        settings = request.app.state.settings
        built = Portal.build(
            contracts_dir=settings.contracts_dir or default_contracts_dir(),
            gateway_url=settings.gateway_url,
            token_url=settings.token_url,
        )
        request.app.state.portal = built
    return built


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers=HTML_HEADERS)


@router.get(PREFIX)
def index(request: Request) -> Response:
    return _html(portal(request).index())


@router.get(f"{PREFIX}/start")
def start(request: Request, client_id: ClientId = None) -> Response:
    return _html(portal(request).start(client_id=client_id))


@router.get(f"{PREFIX}/changelog")
def changelog(request: Request) -> Response:
    return _html(portal(request).changelog())


@router.get(f"{PREFIX}/webhooks")
def webhooks(request: Request) -> Response:
    return _html(portal(request).webhooks())


@router.get(PREFIX + "/{name}")
def page(request: Request, name: str, client_id: ClientId = None) -> Response:
    asset = ASSETS.get(name)
    if asset is not None:
        folder, media_type = asset
        path = folder / name if folder is not None else Path(str(files("fastapi_swagger") / "resources" / name))
        return FileResponse(path, media_type=media_type, headers=ASSET_HEADERS)
    found = _PAGE.match(name)
    site = portal(request)
    version = site.catalog.find(found["slug"]) if found else None
    if version is None:
        listed = ", ".join(f"{PREFIX}/{v.slug}" for v in site.catalog.versions)
        raise NotFound(f"No page {PREFIX}/{name}. The API references are {listed}; the index is {PREFIX}.")
    if found and found["json"]:
        return Response(site.spec_json(version.slug), media_type="application/json", headers=ASSET_HEADERS)
    return _html(site.reference(version, client_id=client_id))
