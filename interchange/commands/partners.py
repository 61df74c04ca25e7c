"""``interchange partners ...``: onboard a partner from a template, through the services' admin
APIs with an ops token (interchange.admin_client), never their databases.

interchange partners templates
interchange partners onboard --template marketplace --partner-id globex-market \\
    --customer-id C-1002 --currency EUR --listing GLX-WIDGET-B=WIDGET-BLUE --mapping globex-mapping.yaml

Onboarding, in order:
    1. the template and the mapping file are read and checked (a problem: ``file:line: field: ...``);
    2. the gateway is asked whether the partner's client (client id = partner id) exists;
    3. the experience service records the partner (account link, listings, field mapping, webhook
       subscriptions) in one transaction, idempotently (``PUT /v1/admin/partners/{id}``);
    4. the gateway registers the client, unless it exists.
Nothing is half-created: a refusal at 1-3 writes nothing; when step 4 fails after step 3 made a new
partner, the partner is removed again (``DELETE``), so the command can simply be run again. A run
for a partner whose client exists completes or updates its records and leaves the client (and its
secret) as it is. Secrets (the client's, each new webhook subscription's) are printed once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.admin_client import AdminClient, DataDir, admin_api
from interchange.explain import CommandFailed, ExplainingGroup
from interchange.onboarding.marks import YamlRefused, load, pointer_loc
from interchange.onboarding.templates import Template, load_template, shipped

app = typer.Typer(help="Partners: onboarding from a template.", no_args_is_help=True, cls=ExplainingGroup)
console = Console()

_PARTNER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_MAPPING_PROBLEM = re.compile(r"#/field_mapping(/\S*?):\s+(.*)$")


@app.command("templates")
def templates() -> None:
    """The templates that ship with the project."""
    table = Table("template", "channel", "client scopes", "tier", "partner records")
    for name in shipped():
        t = load_template(name)
        records = t.partner_records
        kept = [k for k in ("account_link", "listings", "field_mapping") if getattr(records, k)]
        table.add_row(
            name,
            t.channel,
            " ".join(t.client.scopes),
            t.client.tier,
            f"{records.service}: {', '.join(kept)}" if kept else records.service,
        )
    console.print(table)


def _listings(values: list[str]) -> list[dict[str, str]]:
    found = []
    for value in values:
        seller_sku, _, sku = value.partition("=")
        if not seller_sku.strip() or not sku.strip():
            raise typer.BadParameter(f"{value!r} is not SELLER_SKU=SKU", param_hint="--listing")
        found.append({"seller_sku": seller_sku.strip(), "sku": sku.strip()})
    return found


def _check_options(
    template: Template, *, customer_id: str | None, currency: str | None, listings: list[str], mapping: Path | None
) -> None:
    """The options the template asks for, and none it has no use for (exit code 2)."""
    records = template.partner_records
    if records.account_link and not (customer_id and currency):
        raise typer.BadParameter(
            f"the {template.name} template links the partner to its ERP account: give --customer-id and --currency",
            param_hint="--customer-id",
        )
    unused = {
        "--customer-id/--currency": (customer_id or currency) and not records.account_link,
        "--listing": listings and not records.listings,
        "--mapping": mapping is not None and not records.field_mapping,
    }
    for option, given in unused.items():
        if given:
            raise typer.BadParameter(f"the {template.name} template takes no {option}", param_hint=option)


def _read_mapping(path: Path | None) -> tuple[Any, dict[str, Any] | None]:
    if path is None:
        return None, None
    document = load(path)
    if not isinstance(document.data, dict):
        raise document.refusal([], "a field mapping is a mapping with `fields` (see docs/onboarding.md)")
    return document, document.data


def _existing_client(gateway: AdminClient, client_id: str, partner_id: str) -> dict[str, Any] | None:
    for client in gateway.get("/admin/clients")["items"]:
        if client["client_id"] == client_id:
            if client.get("partner_id") != partner_id:
                raise CommandFailed(
                    f"a client {client_id!r} exists for partner {client.get('partner_id')!r}, not {partner_id!r}: "
                    "choose another --partner-id"
                )
            return dict(client)
    return None


def _record_partner(service: AdminClient, *, partner_id: str, body: dict[str, Any], mapping_doc: Any) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = service.call("PUT", f"/v1/admin/partners/{partner_id}", json=body)
    except CommandFailed as exc:
        found = _MAPPING_PROBLEM.search(str(exc))
        if found and mapping_doc is not None:  # the service's pointer, as the mapping file's line
            raise mapping_doc.refusal(pointer_loc(found.group(1)), found.group(2)) from None
        raise
    return answer


def _register_client(
    gateway: AdminClient, *, template: Template, partner_id: str, undo: AdminClient | None
) -> dict[str, Any]:
    body = {
        "kind": template.client.kind,
        "scopes": template.client.scopes,
        "partner_id": partner_id,
        "channel": template.channel,
        "tier": template.client.tier,
        "client_id": partner_id,
    }
    try:
        answer: dict[str, Any] = gateway.post("/admin/clients", json=body)
    except CommandFailed as exc:
        if undo is None:
            raise
        try:
            undo.call("DELETE", f"/v1/admin/partners/{partner_id}")
        except CommandFailed as again:
            raise CommandFailed(
                f"the gateway refused the client ({exc}); removing the partner's records failed too ({again}): "
                "fix the cause and run the same command again to complete it"
            ) from None
        raise CommandFailed(
            f"the gateway refused the client: {exc} (the partner's records were removed again)"
        ) from None
    return answer


def _records_body(
    template: Template,
    *,
    customer_id: str | None,
    currency: str | None,
    listings: list[dict[str, str]],
    field_mapping: dict[str, Any] | None,
    webhook_url: str | None,
) -> dict[str, Any]:
    """What the service's admin API is sent: only the records the template keeps."""
    records = template.partner_records
    body: dict[str, Any] = {}
    if records.account_link:
        body |= {"customer_id": customer_id, "currency": currency}
    if records.listings:
        body["listings"] = listings
    if records.field_mapping:
        body["field_mapping"] = field_mapping
    if template.webhooks is not None:
        body["webhooks"] = [{"url": webhook_url, "event_types": template.webhooks.event_types}] if webhook_url else []
    return body


@app.command("onboard")
def onboard(
    template_name: Annotated[
        str, typer.Option("--template", help=f"One of {', '.join(shipped())}, or a template .yaml file.")
    ],
    partner_id: Annotated[str, typer.Option(help="The partner's id; also its client id at the gateway.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="The partner's own order fields (a field mapping YAML).")
    ] = None,
    customer_id: Annotated[str | None, typer.Option(help="The ERP account its orders bill to.")] = None,
    currency: Annotated[str | None, typer.Option(help="Its billing currency (ISO 4217).")] = None,
    listing: Annotated[list[str], typer.Option("--listing", help="SELLER_SKU=SKU: a listing; repeat for more.")] = [],  # noqa: B006 - typer reads the default, never mutates it
    webhook_url: Annotated[
        str | None, typer.Option(help="Subscribe this URL to the template's webhook events.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Answer as one JSON object on stdout.")] = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """Create a partner from a template: its client (scopes, rate tier), its records in the
    experience service (account link, listings, field mapping, webhooks). Credentials are printed
    once. Running it again completes an onboarding or updates the records; the client is kept."""
    if not _PARTNER_ID.match(partner_id):
        raise typer.BadParameter("letters, digits, '.', '_' and '-', at most 64", param_hint="--partner-id")
    try:
        template = load_template(template_name)
        _check_options(template, customer_id=customer_id, currency=currency, listings=listing, mapping=mapping)
        mapping_doc, field_mapping = _read_mapping(mapping)
    except YamlRefused as exc:
        raise CommandFailed(str(exc)) from None
    listings = _listings(listing)
    if webhook_url and template.webhooks is None:
        raise typer.BadParameter(f"the {template.name} template subscribes to no events", param_hint="--webhook-url")

    records: dict[str, Any] | None = None
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("onboarding") as step:
        step("asking the gateway for the partner's client")
        existing = _existing_client(gateway, partner_id, partner_id)
        service_name = template.partner_records.service
        if service_name != "none":
            step(f"recording the partner in {service_name}")
            body = _records_body(
                template,
                customer_id=customer_id,
                currency=currency,
                listings=listings,
                field_mapping=field_mapping,
                webhook_url=webhook_url,
            )
            with admin_api(service_name, data_dir=data_dir) as service:
                try:
                    records = _record_partner(service, partner_id=partner_id, body=body, mapping_doc=mapping_doc)
                except YamlRefused as exc:
                    raise CommandFailed(str(exc)) from None
                client = None
                if existing is None:
                    step("registering the client")
                    undo = service if records["created"] else None
                    client = _register_client(gateway, template=template, partner_id=partner_id, undo=undo)
        else:
            client = (
                None
                if existing is not None
                else _register_client(gateway, template=template, partner_id=partner_id, undo=None)
            )
    _answer(template=template, partner_id=partner_id, client=client, records=records, as_json=as_json)


def _answer(
    *, template: Template, partner_id: str, client: dict[str, Any] | None, records: dict[str, Any] | None, as_json: bool
) -> None:
    webhooks = (records or {}).get("webhooks", [])
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "partner_id": partner_id,
                    "template": template.name,
                    "client_id": partner_id,
                    "client_secret": client["client_secret"] if client else None,
                    "client_created": client is not None,
                    "scopes": template.client.scopes,
                    "tier": template.client.tier,
                    "records": records,
                }
            )
        )
        return
    lines = [f"onboarded {partner_id} with the {template.name} template"]
    lines.append(
        f"  client    {partner_id} ({template.client.kind}, tier {template.client.tier}): "
        + " ".join(template.client.scopes)
    )
    if records is not None:
        kept = [f"account {records['customer_id']} ({records['currency']})"] if "customer_id" in records else []
        kept += [f"{records['listings']} listing(s)"] if "listings" in records else []
        kept += ["its own field mapping"] if records.get("field_mapping") else []
        lines.append(f"  records   {template.partner_records.service}: {', '.join(kept) or 'set up'}")
    for hook in webhooks:
        lines.append(f"  webhook   {hook['id']} {hook['url']} ({', '.join(hook['event_types'])})")
    if client is None:
        lines.append(
            f"the client {partner_id} existed already: its secret was shown when it was made "
            f"(`interchange clients rotate-secret {partner_id}` issues a new one)"
        )
    else:
        lines += [f"client_id={client['client_id']}", f"client_secret={client['client_secret']}"]
    lines += [f"webhook_secret[{hook['id']}]={hook['secret']}" for hook in webhooks if hook.get("secret")]
    if client is not None or any(hook.get("secret") for hook in webhooks):
        lines.append("(secrets are not stored in clear; keep them now)")
    # soft_wrap: never fold a line at the console's width (80 when piped): a folded secret is a wrong one.
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
