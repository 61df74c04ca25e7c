"""The published event schemas: ``contracts/events/schemas/<type>.json``, generated from the models.

Each file is the JSON Schema (2020-12) of one event type as producers put it on the wire: the CloudEvents envelope
(``contracts.events.CloudEvent``) with ``type`` fixed and ``data`` described by the type's model
(``contracts.events.EVENT_TYPES``). Like the OpenAPI files, they are generated, committed, and
checked for drift: ``check_event_schemas`` fails when a committed file is not valid JSON Schema,
differs from the code, is missing, or names a type that the code no longer publishes.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
from pydantic import create_model

import contracts.events
from contracts.events import EVENT_TYPES, CloudEvent, EventData

SCHEMAS_DIR = Path(contracts.events.__file__).parent / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class EventSchema:
    event_type: str
    path: Path
    text: str


def event_schema(*, event_type: str, model: type[EventData]) -> dict[str, Any]:
    """The wire schema of one event type: the envelope, its ``type`` fixed, ``data`` typed."""
    wire = create_model(
        f"{model.__name__}Event",
        __base__=CloudEvent,
        __doc__=f"CloudEvent `{event_type}`. {model.__doc__ or ''}".strip(),
        type=(Literal[event_type], ...),  # type: ignore[arg-type]  # a Literal built at run time
        data=(model, ...),
    )
    # Serialization mode: the event as producers put it on the wire (every attribute present).
    schema: dict[str, Any] = wire.model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": f"{event_type}.json", **schema}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generate_event_schemas(*, root: Path = SCHEMAS_DIR) -> list[EventSchema]:
    return [
        EventSchema(event_type, root / f"{event_type}.json", render(event_schema(event_type=event_type, model=model)))
        for event_type, model in sorted(EVENT_TYPES.items())
    ]


def export_event_schemas(*, root: Path = SCHEMAS_DIR) -> list[Path]:
    """Write every event type's schema; returns the files that changed."""
    written = []
    root.mkdir(parents=True, exist_ok=True)
    for doc in generate_event_schemas(root=root):
        jsonschema_rs.meta.validate(json.loads(doc.text))
        if not doc.path.exists() or doc.path.read_text() != doc.text:
            doc.path.write_text(doc.text)
            written.append(doc.path)
    return written


def check_event_schemas(*, root: Path = SCHEMAS_DIR) -> list[str]:
    """Every problem found, as readable messages (empty when all is well)."""
    problems: list[str] = []
    expected = {doc.path: doc for doc in generate_event_schemas(root=root)}
    for committed in sorted(root.glob("*.json")):
        try:
            jsonschema_rs.meta.validate(json.loads(committed.read_text()))
        except (ValueError, jsonschema_rs.ValidationError) as exc:
            problems.append(f"{committed}: not a valid JSON Schema: {exc}")
        if committed not in expected:
            problems.append(
                f"{committed}: no model in contracts.events publishes this type any more; a published "
                "event type is removed only by a deliberate change (delete the file with it)"
            )
    for path, doc in expected.items():
        if not path.exists():
            problems.append(f"{path}: missing; run `interchange contracts export` and commit it")
            continue
        current = path.read_text()
        if current != doc.text:
            diff = "".join(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    doc.text.splitlines(keepends=True),
                    fromfile=f"{path} (committed)",
                    tofile=f"{path} (from the code)",
                )
            )
            problems.append(f"{path}: the code and the committed event schema differ:\n{diff}")
    return problems


__all__ = ["SCHEMAS_DIR", "check_event_schemas", "event_schema", "export_event_schemas", "generate_event_schemas"]
