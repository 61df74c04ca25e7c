"""The CLI's operational commands act through the services' admin APIs over HTTP, with an ops
token from the gateway, as kubectl or Kong's decK do: the same commands work against a laptop
suite and a scaled deployment, and the CLI never opens a service's database.

Where a service is, first found wins:
    INTERCHANGE_<SERVICE>_URL, INTERCHANGE_GATEWAY_URL     the deployment's addresses
    <data-dir>/suite.json                                  the local suite ``interchange up`` runs
    the default ports                                      (service_kit.settings.DEFAULT_PORTS)

Who the CLI is: an internal client with the scopes the command needs (``orders:admin``...):
    INTERCHANGE_OPS_CLIENT_ID and INTERCHANGE_OPS_CLIENT_SECRET
    or, for the local suite, ``ops-cli`` from <data-dir>/secrets.json (interchange.bootstrap)

Every failure is a ``CommandFailed`` with one line: the problem's ``detail`` the service gave
(it says what to fix), or what could not be reached. Plain httpx, synchronous: one command makes
a few calls, one after the other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from interchange.explain import CommandFailed

if TYPE_CHECKING:
    import httpx

#: The local suite's ops client, registered by ``interchange up`` (interchange.bootstrap).
LOCAL_OPS_CLIENT = "ops-cli"
CLIENT_ID_ENV = "INTERCHANGE_OPS_CLIENT_ID"
CLIENT_SECRET_ENV = "INTERCHANGE_OPS_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret
TIMEOUT = 30.0

#: The ``--data-dir`` option of the commands that act through ``admin_api``.
DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="INTERCHANGE_DATA_DIR",
        help="The local suite's data directory (its suite.json and ops client).",
    ),
]

#: Tests route the CLI's calls to apps in process; None: real sockets.
transport: httpx.BaseTransport | None = None


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


def service_url(name: str, *, data_dir: Path) -> str:
    """Where service ``name`` (``orders``, ``gateway``...) answers."""
    from service_kit.settings import DEFAULT_PORTS

    explicit = os.environ.get(f"INTERCHANGE_{name.upper()}_URL")
    if explicit:
        return explicit.rstrip("/")
    suite = _suite_file(data_dir)
    if name == "gateway" and suite.get("gateway"):
        return str(suite["gateway"]).rstrip("/")
    if name in suite.get("services", {}):
        return str(suite["services"][name]).rstrip("/")
    return f"http://127.0.0.1:{DEFAULT_PORTS[name]}"


def credentials(*, data_dir: Path) -> Credentials:
    client_id, secret = os.environ.get(CLIENT_ID_ENV), os.environ.get(CLIENT_SECRET_ENV)
    if client_id and secret:
        return Credentials(client_id, secret)
    if client_id or secret:
        raise CommandFailed(f"set both {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}, or neither (the local suite's)")
    if not data_dir.is_dir():
        raise CommandFailed(
            f"no data directory {data_dir}: the suite has not run here yet (start it with `interchange up`, give "
            f"--data-dir / INTERCHANGE_DATA_DIR, or set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} for a deployment)"
        )
    path = data_dir / "secrets.json"
    try:
        known = json.loads(path.read_text())
    except FileNotFoundError:
        raise CommandFailed(
            f"no ops client: set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} (an internal client with the scopes "
            f"this command needs), or give the --data-dir of a suite started with `interchange up`"
        ) from None
    except (OSError, ValueError) as exc:
        raise CommandFailed(f"cannot read the local suite's clients from {path}: {exc}") from None
    if LOCAL_OPS_CLIENT not in known:
        raise CommandFailed(
            f"{path} has no {LOCAL_OPS_CLIENT} client: start the suite again with `interchange up` "
            f"(it registers one), or set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}"
        )
    return Credentials(LOCAL_OPS_CLIENT, str(known[LOCAL_OPS_CLIENT]))


class AdminClient:
    """Calls to one service's operator endpoints (``/v1/admin/...``, ``/v1/reconciliations``) with
    the ops client's token."""

    def __init__(self, http: httpx.Client, *, service: str, base_url: str, gateway_url: str, who: Credentials):
        self._http = http
        self.service = service
        self.base_url = base_url
        self._gateway_url = gateway_url
        self._who = who
        self._token: str | None = None

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params={k: v for k, v in (params or {}).items() if v is not None})

    def post(self, path: str, *, json: Any, idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.call("POST", path, json=json, headers=headers)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self._access_token()}", **kwargs.pop("headers", {})}
        url = f"{self.base_url}{path}"
        try:
            resp = self._http.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise CommandFailed(
                f"cannot reach the {self.service} service at {self.base_url} ({type(exc).__name__}): is the suite "
                f"running? (INTERCHANGE_{self.service.upper()}_URL sets where it is)"
            ) from None
        if resp.is_success:
            return resp.json()
        raise CommandFailed(_problem_line(resp, service=self.service, client_id=self._who.client_id))

    def _access_token(self) -> str:
        import httpx

        if self._token is None:
            url = f"{self._gateway_url}/oauth2/token"
            try:
                resp = self._http.post(
                    url,
                    data={"grant_type": "client_credentials"},
                    auth=(self._who.client_id, self._who.client_secret),
                )
            except httpx.TransportError as exc:
                raise CommandFailed(
                    f"cannot reach the gateway at {self._gateway_url} for a token ({type(exc).__name__}): is the "
                    "suite running? (INTERCHANGE_GATEWAY_URL sets where it is)"
                ) from None
            if resp.status_code in (400, 401):
                raise CommandFailed(
                    f"the gateway refused the ops client {self._who.client_id!r}: unknown, disabled or a wrong secret"
                )
            if resp.status_code != 200:
                raise CommandFailed(f"the gateway's token endpoint answered {resp.status_code}; try again")
            self._token = str(resp.json()["access_token"])
        return self._token


def _problem_line(resp: httpx.Response, *, service: str, client_id: str) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if resp.status_code == 403:
        return f"the ops client {client_id!r} may not do this: {detail or 'a scope is missing'}"
    if detail:
        return str(detail)
    return f"the {service} service answered {resp.status_code}"


@contextmanager
def admin_api(service: str, *, data_dir: Path) -> Iterator[AdminClient]:
    """An ``AdminClient`` for ``service``, its connections closed after the command."""
    import httpx

    who = credentials(data_dir=data_dir)
    with httpx.Client(timeout=TIMEOUT, transport=transport) as http:
        yield AdminClient(
            http,
            service=service,
            base_url=service_url(service, data_dir=data_dir),
            gateway_url=service_url("gateway", data_dir=data_dir),
            who=who,
        )


def _suite_file(data_dir: Path) -> dict[str, Any]:
    try:
        found = json.loads((data_dir / "suite.json").read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


__all__ = ["LOCAL_OPS_CLIENT", "AdminClient", "Credentials", "admin_api", "credentials", "service_url"]
