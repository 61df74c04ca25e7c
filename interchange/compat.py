"""The breaking-change gate: a published major version may grow, never break its clients.

``interchange contracts check`` compares every generated ``contracts/openapi/<api>/<vN>.yaml`` with
the same file in git: with ``INTERCHANGE_CONTRACTS_BASE`` (any revision) set, with the file at that
revision; otherwise with every version of the file ever committed (so a fresh clone in CI, whose
working tree is HEAD, still catches a break made anywhere in the submission's commits). A file
with no committed version is a new major version and passes. Breaking, each change named by its kind:

    removed path / operation / response (a 2xx status) / media type
    removed response field      a response property or header gone, or no longer always present
    removed request field       a property a closed request object accepted, no longer accepted
    removed enum value          in a request or a response
    new required request field  body property, parameter or header; optional -> required; a body
    narrowed type               a request no longer accepts a type (string -> integer, one out of a
                                union, number -> integer); a response may hold a type it did not
    narrowed limit              lower maxLength/maximum/maxItems, higher minLength/minimum/minItems,
                                new or changed pattern/format/multipleOf, new enum or uniqueItems,
                                additionalProperties closing (requests only)

Additive changes pass: new paths, operations, optional fields and parameters, response fields,
enum values, wider limits. ``$ref``s are resolved (recursion is cut at a cycle).

Why no library: api-schema-diff 1.0.4, the best PyPI tool evaluated (shared/notes/LIBRARIES.md 4),
treats request and response schemas alike (a new required response field, a removed optional
parameter: "breaking"), reads ``type`` only as one string (pydantic writes ``X | None`` as ``anyOf``,
so unions and the fields inside them go unseen) and knows no enum, limit, pattern or
additionalProperties. Those need a walk of both documents, which covers the rest in a few lines.
"""

from __future__ import annotations

import functools
import math
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

REMOVED_PATH = "removed path"
REMOVED_OPERATION = "removed operation"
REMOVED_RESPONSE = "removed response"
REMOVED_MEDIA_TYPE = "removed media type"
REMOVED_RESPONSE_FIELD = "removed response field"
REMOVED_REQUEST_FIELD = "removed request field"
REMOVED_ENUM_VALUE = "removed enum value"
NEW_REQUIRED_REQUEST_FIELD = "new required request field"
NARROWED_TYPE = "narrowed type"
NARROWED_LIMIT = "narrowed limit"

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_UPPER = ("maxLength", "maxItems", "maxProperties")
_LOWER = ("minLength", "minItems", "minProperties")
REQUEST, RESPONSE = "request", "response"


@dataclass(frozen=True)
class Change:
    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.detail} [{self.kind}]"


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new`` that breaks a client of ``old``."""
    return list(_Diff(old, new).paths())


class _Diff:
    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old, self.new = old, new
        self._stack: set[tuple[str, str, str]] = set()

    def paths(self) -> Iterator[Change]:
        new_paths = {_template(p): p for p in self.new.get("paths", {})}
        for path, old_item in self.old.get("paths", {}).items():
            if _template(path) not in new_paths:
                yield Change(REMOVED_PATH, path, "path removed")
                continue
            new_item = self.new["paths"][new_paths[_template(path)]]
            for method in _METHODS:
                if method not in old_item:
                    continue
                where = f"{method.upper()} {path}"
                if method not in new_item:
                    yield Change(REMOVED_OPERATION, where, "operation removed")
                    continue
                yield from self._operation(where, old_item, new_item, method)

    def _operation(self, where: str, old_item: Any, new_item: Any, method: str) -> Iterator[Change]:
        old_op, new_op = old_item[method], new_item[method]
        old_params = self._parameters(old_item, old_op, self.old)
        for key, param in self._parameters(new_item, new_op, self.new).items():
            label = f"{where} {param.get('in')} parameter {param.get('name')}"
            before = old_params.get(key)
            if param.get("required") and not (before and before.get("required")):
                detail = "optional parameter became required" if before else "new required parameter"
                yield Change(NEW_REQUIRED_REQUEST_FIELD, label, detail)
            if before is not None:
                yield from self.schema(label, before.get("schema", {}), param.get("schema", {}), REQUEST)
        yield from self._request_body(where, old_op.get("requestBody"), new_op.get("requestBody"))
        old_responses, new_responses = old_op.get("responses", {}), new_op.get("responses", {})
        for status, old_resp in old_responses.items():
            label = f"{where} response {status}"
            new_resp = new_responses.get(status)
            if new_resp is None and str(status).startswith("2"):
                yield Change(REMOVED_RESPONSE, label, "success response removed")
            if new_resp is None:
                continue
            old_resp, new_resp = _deref(self.old, old_resp), _deref(self.new, new_resp)
            for header in old_resp.get("headers", {}):
                if header.lower() not in {h.lower() for h in new_resp.get("headers", {})}:
                    yield Change(REMOVED_RESPONSE_FIELD, f"{label} header {header}", "response header removed")
            yield from self._content(label, old_resp.get("content", {}), new_resp.get("content", {}), RESPONSE)

    def _parameters(self, item: Any, op: Any, doc: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
        params = [_deref(doc, raw) for raw in [*item.get("parameters", []), *op.get("parameters", [])]]
        return {
            (p.get("in", ""), str(p.get("name", "")).lower() if p.get("in") == "header" else p.get("name")): p
            for p in params
        }

    def _request_body(self, where: str, old: Any, new: Any) -> Iterator[Change]:
        label = f"{where} request body"
        old, new = _deref(self.old, old or {}), _deref(self.new, new or {})
        if new.get("required") and not old.get("required"):
            yield Change(NEW_REQUIRED_REQUEST_FIELD, label, "a request body is now required")
        if old and new:
            yield from self._content(label, old.get("content", {}), new.get("content", {}), REQUEST)

    def _content(self, label: str, old: Any, new: Any, direction: str) -> Iterator[Change]:
        for media, old_media in old.items():
            if media not in new:
                yield Change(
                    REMOVED_MEDIA_TYPE, label, f"{media} no longer {'accepted' if direction == REQUEST else 'sent'}"
                )
                continue
            yield from self.schema(f"{label} $", old_media.get("schema", {}), new[media].get("schema", {}), direction)

    def schema(self, where: str, old: Any, new: Any, direction: str) -> Iterator[Change]:
        """Compare two schemas at ``where``; a request schema must accept all it did, a response
        schema must hold nothing its clients do not know."""
        key = (str(old.get("$ref", id(old))), str(new.get("$ref", id(new))), direction)
        if key in self._stack or len(self._stack) > 100:  # a cycle, or one built anew by allOf
            return
        self._stack.add(key)
        try:
            old_alts, new_alts = _alternatives(self.old, old), _alternatives(self.new, new)
            # Requests: every type the old schema accepted must still be accepted. Responses: every
            # type the new schema may hold must be one the old schema's clients know.
            wide, narrow = (old_alts, new_alts) if direction == REQUEST else (new_alts, old_alts)
            for alt in wide:
                match = _match(_kind(alt), narrow)
                if match is None:
                    detail = (
                        f"{_kind(alt)} no longer accepted"
                        if direction == REQUEST
                        else f"may now be {_kind(alt)}, which it was not"
                    )
                    yield Change(NARROWED_TYPE, where, detail)
                    continue
                pair = (alt, match) if direction == REQUEST else (match, alt)
                yield from self._same_kind(where, *pair, direction)
        finally:
            self._stack.discard(key)

    def _same_kind(self, where: str, old: Any, new: Any, direction: str) -> Iterator[Change]:
        yield from _enum(where, old, new, direction)
        if direction == REQUEST:
            yield from _limits(where, old, new)
        if "properties" in old or "properties" in new or _kind(old) == "object":
            yield from self._object(where, old, new, direction)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            yield from self.schema(f"{where}[]", old["items"], new["items"], direction)

    def _object(self, where: str, old: Any, new: Any, direction: str) -> Iterator[Change]:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for name in old_props:
            if name in new_props:
                yield from self.schema(f"{where}.{name}", old_props[name], new_props[name], direction)
            elif direction == RESPONSE:
                yield Change(REMOVED_RESPONSE_FIELD, f"{where}.{name}", "response field removed")
            elif new.get("additionalProperties") is False:
                yield Change(REMOVED_REQUEST_FIELD, f"{where}.{name}", "no longer accepted (unknown fields refused)")
        if direction == RESPONSE:
            for name in sorted((old_req - new_req) & set(new_props)):
                yield Change(REMOVED_RESPONSE_FIELD, f"{where}.{name}", "no longer always present")
            return
        for name in sorted(new_req - old_req):
            detail = "optional field became required" if name in old_props else "new required field"
            yield Change(NEW_REQUIRED_REQUEST_FIELD, f"{where}.{name}", detail)
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            yield Change(NARROWED_LIMIT, where, "additionalProperties closed: unknown fields now refused")
        elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
            yield from self.schema(f"{where}.*", old_extra, new_extra, direction)


def _enum(where: str, old: Any, new: Any, direction: str) -> Iterator[Change]:
    old_values, new_values = _values(old), _values(new)
    if new_values is None:
        return
    if old_values is None:
        if direction == REQUEST:
            yield Change(NARROWED_LIMIT, where, f"now limited to {sorted(map(str, new_values))}")
        return
    for value in old_values:
        if value not in new_values:
            yield Change(REMOVED_ENUM_VALUE, where, f"enum value {value!r} removed")


def _limits(where: str, old: Any, new: Any) -> Iterator[Change]:
    for word in _UPPER:
        if word in new and (word not in old or new[word] < old[word]):
            yield Change(NARROWED_LIMIT, where, f"{word} lowered from {old.get(word, 'none')} to {new[word]}")
    for word in _LOWER:
        if new.get(word, 0) > old.get(word, 0):
            yield Change(NARROWED_LIMIT, where, f"{word} raised from {old.get(word, 0)} to {new[word]}")
    old_low, new_low = (_bound(s, "minimum", "exclusiveMinimum", 1) for s in (old, new))
    if new_low and (not old_low or new_low > old_low):
        yield Change(NARROWED_LIMIT, where, f"minimum raised from {_show(old_low)} to {_show(new_low)}")
    old_up, new_up = (_bound(s, "maximum", "exclusiveMaximum", -1) for s in (old, new))
    if new_up and (not old_up or (new_up[0], -new_up[1]) < (old_up[0], -old_up[1])):
        yield Change(NARROWED_LIMIT, where, f"maximum lowered from {_show(old_up)} to {_show(new_up)}")
    for word in ("pattern", "format"):
        if word in new and new[word] != old.get(word):
            yield Change(NARROWED_LIMIT, where, f"{word} {'changed' if word in old else 'added'}: {new[word]!r}")
    if "multipleOf" in new and (("multipleOf" not in old) or (old["multipleOf"] / new["multipleOf"]) % 1):
        yield Change(NARROWED_LIMIT, where, f"multipleOf now {new['multipleOf']}")
    if new.get("uniqueItems") and not old.get("uniqueItems"):
        yield Change(NARROWED_LIMIT, where, "items must now be unique")


def _bound(schema: Any, inclusive: str, exclusive: str, side: int) -> tuple[float, int] | None:
    """A lower (side 1) or upper (side -1) bound as (value, 1 if exclusive else 0), the tighter of
    the two keywords; for integers an exclusive bound is the next integer, inclusive (> 0 is >= 1)."""
    found = [(float(schema[inclusive]), 0)] if inclusive in schema else []
    if isinstance(value := schema.get(exclusive), int | float) and not isinstance(value, bool):
        whole = schema.get("type") == "integer"
        found.append((float(math.floor(value) + 1 if side > 0 else math.ceil(value) - 1), 0) if whole else (value, 1))
    if not found:
        return None
    pick = (max if side > 0 else min)(value for value, _ in found)
    return float(pick), max(excl for value, excl in found if value == pick)


def _show(bound: tuple[float, int] | None) -> str:
    return "none" if bound is None else f"{bound[0]:.15g} ({'exclusive' if bound[1] else 'inclusive'})"


def _values(schema: Any) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    return [schema["const"]] if "const" in schema else None


def _template(path: str) -> str:
    """A path with its parameter names left out: renaming ``{id}`` breaks no client."""
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


def _deref(doc: Mapping[str, Any], node: Any) -> Any:
    seen = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"] not in seen:
        seen.add(node["$ref"])
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}


def _alternatives(doc: Mapping[str, Any], schema: Any) -> list[dict[str, Any]]:
    """The schema as a list of alternatives of one type each: ``anyOf``/``oneOf`` branches and
    ``type`` lists flattened, ``allOf`` merged, ``$ref``s resolved."""
    schema = _deref(doc, schema)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return [alt for branch in branches for alt in _alternatives(doc, branch)]
    if schema.get("allOf"):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            for alt in _alternatives(doc, part):
                merged = {**alt, **merged}
                merged["properties"] = {**alt.get("properties", {}), **merged.get("properties", {})}
                merged["required"] = sorted({*alt.get("required", []), *merged.get("required", [])})
        return [merged]
    if isinstance(schema.get("type"), list):
        return [{**schema, "type": t} for t in schema["type"]]
    return [schema]


def _kind(schema: Mapping[str, Any]) -> str:
    if isinstance(schema.get("type"), str):
        return str(schema["type"])
    return "object" if "properties" in schema else "array" if "items" in schema else "any"


def _match(kind: str, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The candidate that holds every value of ``kind`` (an integer is a number; ``any`` holds all)."""
    for wanted in (kind, "number" if kind == "integer" else None, "any"):
        for candidate in candidates:
            if wanted is not None and _kind(candidate) == wanted:
                return candidate
    return None


class BaselineError(Exception):
    pass


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: several times the pure-Python loader


@functools.lru_cache(maxsize=64)
def load_yaml(text: str) -> dict[str, Any]:
    """A contract's text parsed, once per distinct text: ``contracts check`` meets the same text as the
    committed file, the generated one and the latest published version. Callers only read the result."""
    return yaml.load(text, Loader=_Loader) or {}  # noqa: S506 - a safe loader (C or Python)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)  # noqa: S603, S607


def _is_commit(repo: Path, rev: str) -> bool:
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode == 0


def baseline(repo: Path) -> str | None:
    """The revision published contracts are compared with; None before the first commit."""
    if chosen := os.environ.get("INTERCHANGE_CONTRACTS_BASE", "").strip():
        if not _is_commit(repo, chosen):
            raise BaselineError(f"INTERCHANGE_CONTRACTS_BASE={chosen!r} is not a revision of this repository")
        return chosen
    if not _is_commit(repo, "HEAD"):
        return None
    if not _is_commit(repo, "origin/main"):
        return "HEAD"
    merge_base = _git(repo, "merge-base", "HEAD", "origin/main")
    if merge_base.returncode != 0:
        raise BaselineError(
            "no merge base of HEAD and origin/main (shallow clone?): fetch or set INTERCHANGE_CONTRACTS_BASE"
        )
    return merge_base.stdout.strip()


def published(repo: Path, base: str, folder: Path) -> dict[Path, str]:
    """Every ``<api>/<vN>.yaml`` under ``folder`` at ``base``, by its path in the working tree."""
    return {path: text for (path, _), text in _published_at(repo, [base], folder).items()}


def _published_at(repo: Path, revisions: list[str], folder: Path) -> dict[tuple[Path, str], str]:
    """The published files at each revision, keyed by (path, revision): one ``git ls-tree`` per
    revision, then every distinct blob read by a single ``git cat-file --batch`` (a ``git show``
    per file and revision made ``contracts check`` spend seconds starting git processes)."""
    root = Path(_git(repo, "rev-parse", "--show-toplevel").stdout.strip()).resolve()
    try:
        relative = folder.resolve().relative_to(root).as_posix()
    except ValueError:
        raise BaselineError(f"{folder} is not inside the git checkout {root}") from None
    blobs: dict[tuple[Path, str], str] = {}
    for revision in revisions:
        listing = _git(root, "ls-tree", "-r", revision, "--", relative)
        if listing.returncode != 0:
            raise BaselineError(f"cannot list {relative} at {revision}: {listing.stderr.strip()}")
        for line in listing.stdout.splitlines():
            meta, _, name = line.partition("\t")
            parts = Path(name).relative_to(relative).parts
            if len(parts) == 2 and parts[1].startswith("v") and parts[1].endswith(".yaml"):
                blobs[((root / name).resolve(), revision)] = meta.split()[2]
    texts = _read_blobs(root, sorted(set(blobs.values())))
    return {key: texts[blob] for key, blob in blobs.items()}


def _read_blobs(root: Path, blobs: list[str]) -> dict[str, str]:
    if not blobs:
        return {}
    batch = subprocess.run(  # noqa: S603
        ["git", "-C", str(root), "cat-file", "--batch"],  # noqa: S607
        input="".join(f"{blob}\n" for blob in blobs).encode(),
        capture_output=True,
        check=False,
    )
    if batch.returncode != 0:
        raise BaselineError(f"cannot read the published contracts: {batch.stderr.decode().strip()}")
    out, at, texts = batch.stdout, 0, {}
    for blob in blobs:
        end = out.index(b"\n", at)
        header = out[at:end].split()  # <sha> <type> <size>, or <sha> missing
        if len(header) != 3:
            raise BaselineError(f"cannot read blob {blob}: {out[at:end].decode()}")
        size = int(header[2])
        texts[blob] = out[end + 1 : end + 1 + size].decode()
        at = end + 1 + size + 1  # the content is followed by a newline
    return texts


def gate(generated: Mapping[Path, str], *, folder: Path, today: date | None = None) -> list[str]:
    """One message per published version with breaking changes. A published version the code no
    longer generates may go only once its sunset has passed."""
    today = today or datetime.now(UTC).date()
    repo = folder if folder.is_dir() else folder.parent
    if _git(repo, "rev-parse", "--git-dir").returncode != 0:
        return []  # not a git checkout (an installed package): nothing to compare with
    try:
        versions = published_versions(repo, folder)
    except BaselineError as exc:
        return [f"breaking-change gate: {exc}"]
    generated = {path.resolve(): text for path, text in generated.items()}
    problems = []
    latest = {path: (base, text) for (path, base), text in versions.items()}  # history is oldest first
    for path, (base, text) in sorted(latest.items()):
        if path not in generated:
            sunset = load_yaml(text).get("x-interchange-sunset")
            if sunset is None or date.fromisoformat(str(sunset)) > today:
                name = f"{path.parent.name}/{path.stem}"
                problems.append(f"{name}: published at {base} but no longer generated, before its sunset ({sunset})")
    for (path, base), text in versions.items():
        if path not in generated or text == generated[path]:
            continue  # a text breaks nothing against itself
        name = f"{path.parent.name}/{path.stem}"
        changes = breaking_changes(load_yaml(text), load_yaml(generated[path]))
        if changes:
            listed = "\n".join(f"  - {change}" for change in changes)
            problems.append(
                f"{name}: {len(changes)} breaking change(s) against {base}; publish them as a new major version "
                f"instead:\n{listed}"
            )
    return problems


def published_versions(repo: Path, folder: Path) -> dict[tuple[Path, str], str]:
    """Each distinct committed text of every published file, keyed by (path, the first revision
    that has it): at ``INTERCHANGE_CONTRACTS_BASE`` only when set, else across all history."""
    if os.environ.get("INTERCHANGE_CONTRACTS_BASE", "").strip():
        base = baseline(repo)
        return {(path, base): text for path, text in published(repo, base, folder).items()} if base else {}
    if not _is_commit(repo, "HEAD"):
        return {}
    root = Path(_git(repo, "rev-parse", "--show-toplevel").stdout.strip()).resolve()
    relative = folder.resolve().relative_to(root).as_posix()
    revisions = _git(root, "log", "--reverse", "--format=%H", "HEAD", "--", relative).stdout.split()
    seen: dict[tuple[Path, str], str] = {}
    texts: set[tuple[Path, str]] = set()
    for (path, revision), text in _published_at(repo, revisions, folder).items():  # oldest revision first
        if (path, text) not in texts:
            texts.add((path, text))
            seen[(path, revision[:12])] = text
    return seen


__all__ = ["Change", "breaking_changes", "gate"]
