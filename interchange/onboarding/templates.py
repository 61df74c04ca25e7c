"""Onboarding templates: what a kind of partner gets (its client's scopes and rate tier, which
partner records its experience service keeps, which webhook events it may subscribe to). The
ones that ship are ``templates/<name>.yaml``; ``--template`` also takes a file of the same shape.

A template is checked with pydantic; a problem is one line naming the file, the line and the
field (``marks``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from interchange.onboarding.marks import YamlRefused, load

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: The experience services whose admin API records a partner, and the webhook events each sends.
RECORDING_SERVICES: dict[str, frozenset[str]] = {
    "marketplace": frozenset({"availability.changed"}),
    "b2b": frozenset(),
    "none": frozenset(),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_scope(scope: str) -> str:
    from contracts.scopes import ALL

    if scope not in ALL:
        raise ValueError(f"unknown scope {scope!r} (one of: {', '.join(ALL)})")
    return scope


class ClientTemplate(_Strict):
    kind: Literal["partner", "internal"] = "partner"
    scopes: Annotated[list[Annotated[str, AfterValidator(_known_scope)]], Field(min_length=1)]
    tier: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_\-]*$")] = "standard"

    @field_validator("scopes")
    @classmethod
    def _partner_scopes(cls, scopes: list[str], info: ValidationInfo) -> list[str]:
        from contracts.scopes import PARTNER

        internal = [s for s in scopes if s not in PARTNER]
        if info.data.get("kind") == "partner" and internal:
            raise ValueError(
                f"a partner client may not hold {', '.join(internal)} (kind: internal for an in-house app)"
            )
        return scopes


class PartnerRecords(_Strict):
    service: Literal["marketplace", "b2b", "none"] = Field(
        description="The experience service whose admin API records the partner; none: the client only."
    )
    account_link: bool = False
    listings: bool = False
    field_mapping: bool = False

    @model_validator(mode="after")
    def _kept_by_a_service(self) -> PartnerRecords:
        if self.service == "none" and (self.account_link or self.listings or self.field_mapping):
            raise ValueError("service is none: it keeps no account_link, listings or field_mapping")
        return self


class WebhookTemplate(_Strict):
    event_types: Annotated[list[str], Field(min_length=1)]


class Template(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")]
    description: Annotated[str, Field(min_length=1, max_length=300)]
    channel: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=64)]
    client: ClientTemplate
    partner_records: PartnerRecords
    webhooks: WebhookTemplate | None = None

    @field_validator("webhooks")
    @classmethod
    def _events_sent(cls, webhooks: WebhookTemplate | None, info: ValidationInfo) -> WebhookTemplate | None:
        records = info.data.get("partner_records")
        if webhooks is None or records is None:
            return webhooks
        sent = RECORDING_SERVICES[records.service]
        unknown = [t for t in webhooks.event_types if t not in sent]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} not sent by {records.service} (it sends: {', '.join(sorted(sent)) or 'nothing'})"
            )
        return webhooks


def shipped() -> list[str]:
    """The names of the templates that ship with the project."""
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))


def template_path(name_or_file: str) -> Path:
    """A shipped template by name, or a template file."""
    if name_or_file in shipped():
        return TEMPLATES_DIR / f"{name_or_file}.yaml"
    path = Path(name_or_file)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    raise YamlRefused(f"no template {name_or_file!r}: one of {', '.join(shipped())}, or a template's .yaml file")


def load_template(name_or_file: str) -> Template:
    document = load(template_path(name_or_file))
    if not isinstance(document.data, dict):
        raise document.refusal([], "a template is a mapping (name, description, channel, client, partner_records)")
    try:
        return Template.model_validate(document.data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = [p for p in first["loc"] if isinstance(p, int) or not str(p).startswith("function-")]
        raise document.refusal(loc, first["msg"].removeprefix("Value error, ")) from None


__all__ = ["RECORDING_SERVICES", "TEMPLATES_DIR", "Template", "load_template", "shipped", "template_path"]
