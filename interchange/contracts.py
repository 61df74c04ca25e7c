"""``interchange contracts export | check``: the published OpenAPI documents under
``contracts/openapi/<api>/<vN>.yaml``, generated from the code.

``check`` fails when a committed file is not a valid OpenAPI 3.1 document
(openapi-spec-validator), when the code and the committed file differ, when an API that the
code publishes has no committed file, or when the code breaks a published version
(``interchange.compat``: compared with the contracts in git at a baseline).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

import contracts
from interchange import compat
from interchange.services import ServiceInfo, available_services
from service_kit.openapi import render_yaml, version_spec
from service_kit.settings import DEFAULT_PORTS, ServiceSettings

CONTRACTS_DIR = Path(contracts.__file__).parent / "openapi"


@dataclass(frozen=True)
class Document:
    api: str
    version: str
    path: Path
    text: str


def _server(info: ServiceInfo) -> str:
    if info.tier == "experience":
        return f"http://127.0.0.1:{DEFAULT_PORTS['gateway']}/{info.name}"
    return f"http://127.0.0.1:{info.port}"


def _quiet(step: str) -> None:
    pass


def generate(root: Path = CONTRACTS_DIR, *, on_step: Callable[[str], None] = _quiet) -> list[Document]:
    docs = []
    for info in available_services():
        if not info.publishes_api:
            continue
        on_step(f"generating the {info.name} API")
        module = importlib.import_module(f"{info.package}.app")
        app = module.create_app(ServiceSettings.load(info.name, log_json=False))
        for version in info.versions:
            spec = version_spec(
                app,
                api=info.name,
                version=version,
                service=info.name,
                tier=info.tier,
                server=_server(info),
                token_url=f"http://127.0.0.1:{DEFAULT_PORTS['gateway']}/oauth2/token",
            )
            docs.append(Document(info.name, version, root / info.name / f"{version}.yaml", render_yaml(spec)))
    return docs


def export(root: Path = CONTRACTS_DIR, *, on_step: Callable[[str], None] = _quiet) -> list[Path]:
    written = []
    for doc in generate(root, on_step=on_step):
        on_step(f"validating {doc.api} {doc.version}")
        validate_text(doc.text, doc.path)
        doc.path.parent.mkdir(parents=True, exist_ok=True)
        if not doc.path.exists() or doc.path.read_text() != doc.text:
            doc.path.write_text(doc.text)
            written.append(doc.path)
    return written


def validate_text(text: str, where: Path) -> dict[str, Any]:
    spec = compat.load_yaml(text)
    try:
        validate(spec, cls=OpenAPIV31SpecValidator)
    except OpenAPIValidationError as exc:
        raise ContractError(f"{where}: not a valid OpenAPI 3.1 document: {exc.message}") from exc
    return spec


class ContractError(Exception):
    pass


def check(root: Path = CONTRACTS_DIR, *, on_step: Callable[[str], None] = _quiet) -> list[str]:
    """Every problem found, as readable messages (empty when all is well)."""
    problems: list[str] = []
    for committed in sorted(root.glob("*/v*.yaml")):
        on_step(f"validating {committed.parent.name} {committed.stem}")
        try:
            validate_text(committed.read_text(), committed)
        except ContractError as exc:
            problems.append(str(exc))
    docs = generate(root, on_step=on_step)
    for doc in docs:
        if not doc.path.exists():
            problems.append(f"{doc.path}: missing; run `interchange contracts export` and commit it")
            continue
        current = doc.path.read_text()
        if current != doc.text:
            diff = "".join(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    doc.text.splitlines(keepends=True),
                    fromfile=f"{doc.path} (committed)",
                    tofile=f"{doc.path} (from the code)",
                )
            )
            problems.append(f"{doc.path}: the code and the committed contract differ:\n{diff}")
    on_step("comparing with every published version in git")
    problems.extend(compat.gate({doc.path: doc.text for doc in docs}, folder=root))
    return problems
