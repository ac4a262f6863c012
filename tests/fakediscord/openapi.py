"""Validate REST traffic against Discord's OpenAPI description plus documented limits.

The fake Discord calls :func:`load_spec` once and, for every request the bot makes,
:meth:`OpenAPISpec.match` to find the operation, :meth:`OpenAPISpec.validate_request`
for the body (JSON, or the ``payload_json`` part of a multipart upload) and
:func:`message_problems` for the limits and product rules that the spec does not encode.
Everything returns a list of human-readable problems; nothing here raises on bad input.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

log = logging.getLogger(__name__)

#: Environment variable that overrides where the spec is read from.
SPEC_ENV_VAR = "TALKSBOT_DISCORD_OPENAPI"

#: Base URI under which the spec document is registered for ``$ref`` resolution.
_RAW_URI = "urn:discord-openapi:raw"
_REQUEST_URI = "urn:discord-openapi:request"

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Documented Discord limits (https://discord.com/developers/docs/resources/message and
# .../interactions/message-components). The spec encodes some, not all, of them.
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
SELECT_OPTIONS_MAX = 25
SELECT_PLACEHOLDER_MAX = 150
SELECT_OPTION_TEXT_MAX = 100
MESSAGE_FLAG_COMPONENTS_V2 = 1 << 15

_SELECT_TYPES = {3, 5, 6, 7, 8}


def default_spec_path() -> Path:
    """Return where the spec lives: ``$TALKSBOT_DISCORD_OPENAPI`` or ``<repo>/../shared/...``."""
    override = os.environ.get(SPEC_ENV_VAR)
    if override:
        return Path(override)
    # tests/fakediscord/openapi.py -> parents[2] is the repo; CI clones it with shared/ beside it.
    return Path(__file__).resolve().parents[2].parent / "shared" / "discord-api-spec" / "openapi.json"


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the spec, with the path parameters of a concrete request."""

    method: str
    template: str
    operation_id: str
    path_params: dict[str, str] = field(default_factory=dict, compare=False)


def _escape_pointer(token: str) -> str:
    """Escape one JSON-pointer token and percent-encode what a URI fragment cannot hold."""
    token = token.replace("~", "~0").replace("/", "~1")
    # referencing unquotes the fragment, so braces and other specials must be quoted.
    return re.sub(r"[^A-Za-z0-9_\-.~@]", lambda m: f"%{ord(m.group()):02X}", token)


def _pointer(*tokens: str) -> str:
    """Build a ``#/a/b`` fragment from raw tokens."""
    return "#/" + "/".join(_escape_pointer(t) for t in tokens)


def _patch_for_requests(doc: dict[str, Any]) -> list[str]:
    """Loosen the spec where it is stricter than Discord itself; return what was changed.

    Each change is a documented mismatch between the spec and what Discord accepts
    (and what discord.py sends), so validating unpatched would flag correct bots.
    """
    notes: list[str] = []
    schemas = doc["components"]["schemas"]

    # 1. Snowflakes: Discord accepts JSON integers as well as strings, and discord.py sends
    #    integers (File.to_dict -> attachments[].id, AllowedMentions users/roles).
    snowflake = schemas["SnowflakeType"]
    schemas["SnowflakeType"] = {
        "anyOf": [snowflake, {"type": "integer", "minimum": 0}],
    }
    notes.append("SnowflakeType also accepts non-negative integers in requests")

    # 2. default_member_permissions: Discord documents it as a string bitfield and
    #    discord.py sends str(value); the spec only allows an integer.
    for name, schema in schemas.items():
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        dmp = props.get("default_member_permissions")
        if dmp and "integer" in (dmp.get("type") or []):
            props["default_member_permissions"] = {
                "anyOf": [dmp, {"type": "string", "pattern": r"^[0-9]+$"}],
            }
            notes.append(f"{name}.default_member_permissions also accepts a digit string")
    return notes


class OpenAPISpec:
    """Discord's OpenAPI document with path matching and JSON-schema validation."""

    def __init__(self, doc: Mapping[str, Any], *, source: str = "<memory>") -> None:
        """Index the document; ``doc`` is the parsed openapi.json."""
        self.source = source
        self.raw: dict[str, Any] = dict(doc)
        self.request_doc: dict[str, Any] = copy.deepcopy(self.raw)
        self.patches: list[str] = _patch_for_requests(self.request_doc)
        self._raw_registry: Registry = Registry().with_resource(_RAW_URI, DRAFT202012.create_resource(self.raw))
        self._req_registry: Registry = Registry().with_resource(
            _REQUEST_URI, DRAFT202012.create_resource(self.request_doc)
        )
        self._routes: list[tuple[re.Pattern[str], int, str, list[str]]] = []
        for template in self.raw["paths"]:
            segments = template.strip("/").split("/")
            names: list[str] = []
            parts: list[str] = []
            literal = 0
            for seg in segments:
                m = re.fullmatch(r"\{(\w+)\}", seg)
                if m:
                    names.append(m.group(1))
                    parts.append("([^/]+)")
                else:
                    literal += 1
                    parts.append(re.escape(seg))
            self._routes.append((re.compile("^/" + "/".join(parts) + "/?$"), literal, template, names))
        # Most literal segments first so "/users/@me" beats "/users/{user_id}".
        self._routes.sort(key=lambda r: -r[1])
        self._validators: dict[tuple[str, str], Draft202012Validator] = {}

    # ----------------------------------------------------------------- matching
    def match(self, method: str, path: str) -> tuple[Operation | None, str | None]:
        """Return (operation, None) or (None, reason) for a path relative to ``/api/v10``."""
        method = method.lower()
        path_only = path.split("?", 1)[0]
        templates_seen: list[str] = []
        for regex, _literal, template, names in self._routes:
            m = regex.match(path_only)
            if not m:
                continue
            item = self.raw["paths"][template]
            templates_seen.append(template)
            if method in item:
                params = dict(zip(names, m.groups(), strict=True))
                return Operation(method.upper(), template, item[method].get("operationId", ""), params), None
        if templates_seen:
            allowed = sorted({m.upper() for t in templates_seen for m in self.raw["paths"][t] if m in _HTTP_METHODS})
            return (
                None,
                f"method {method.upper()} not allowed on {templates_seen[0]} (allowed: {', '.join(allowed)})",
            )
        return None, f"unknown route {method.upper()} {path_only}"

    def operation_object(self, op: Operation) -> dict[str, Any]:
        """Return the raw OpenAPI operation object."""
        return self.raw["paths"][op.template][op.method.lower()]

    # --------------------------------------------------------------- validation
    def _validator(self, pointer: str, *, request: bool) -> Draft202012Validator:
        """A cached validator for the schema at ``pointer`` in the request or raw document."""
        key = (pointer, "req" if request else "raw")
        v = self._validators.get(key)
        if v is None:
            base = _REQUEST_URI if request else _RAW_URI
            registry = self._req_registry if request else self._raw_registry
            v = Draft202012Validator({"$ref": base + pointer}, registry=registry)
            self._validators[key] = v
        return v

    def _parameters(self, op: Operation) -> list[dict[str, Any]]:
        """Path-level plus operation-level parameters (operation wins on name clash)."""
        item = self.raw["paths"][op.template]
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for p in item.get("parameters", []) + item[op.method.lower()].get("parameters", []):
            merged[(p["in"], p["name"])] = p
        return list(merged.values())

    def validate_parameters(self, op: Operation, query: Mapping[str, str]) -> list[str]:
        """Check path parameters against their schemas and query keys/values against the declared ones."""
        problems: list[str] = []
        params = self._parameters(op)
        for p in params:
            if p["in"] == "path":
                value = op.path_params.get(p["name"])
                if value is None:
                    continue
                problems += self._check_value(p["schema"], value, f"path parameter {p['name']}")
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        for key, raw in query.items():
            p = declared.get(key)
            if p is None:
                problems.append(f"undeclared query parameter {key!r}")
                continue
            problems += self._check_value(p["schema"], _coerce_query(p["schema"], raw, self.raw), f"query {key}")
        return problems

    def _check_value(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        """Validate a single parameter value against an inline schema (refs resolve in the raw doc)."""
        v = Draft202012Validator(_rebase_refs(schema, _RAW_URI), registry=self._raw_registry)
        err = best_match(v.iter_errors(value))
        return [] if err is None else [f"{where}: {err.message}"]

    def request_content_types(self, op: Operation) -> list[str]:
        """Content types the operation's requestBody declares (empty if it takes no body)."""
        body = self.operation_object(op).get("requestBody")
        return list(body.get("content", {})) if body else []

    def validate_request(self, op: Operation, body: Any) -> list[str]:
        """Validate a parsed JSON body (for multipart: the parsed payload_json) against the operation."""
        content = self.operation_object(op).get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return [f"{op.operation_id} takes no JSON body"]
        schema = content["application/json"]["schema"]
        pointer = _pointer(
            "paths", op.template, op.method.lower(), "requestBody", "content", "application/json", "schema"
        )
        return self._validate_union(schema, pointer, body, request=True)

    def validate_response(self, op: Operation, status: int, body: Any) -> list[str]:
        """Validate one of the fake's JSON replies against the declared response schema."""
        responses = self.operation_object(op).get("responses", {})
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        resp = responses.get(key)
        if resp is None:
            return [f"{op.operation_id} declares no {status} response"]
        if "$ref" in resp:
            # Shared 4XX/429 responses. Not checked: the spec types nested ``_errors[].code``
            # as integer, but Discord sends strings such as "BASE_TYPE_MAX_LENGTH".
            return []
        content = resp.get("content", {})
        if body is None:
            return [] if not content else [f"{op.operation_id} {status} must have a JSON body"]
        if "application/json" not in content:
            return [f"{op.operation_id} {status} declares no JSON body"]
        schema = content["application/json"]["schema"]
        pointer = _pointer(
            "paths", op.template, op.method.lower(), "responses", key, "content", "application/json", "schema"
        )
        return self._validate_union(schema, pointer, body, request=False)

    def validate_component(self, name: str, instance: Any, *, request: bool = False) -> list[str]:
        """Validate ``instance`` against ``#/components/schemas/<name>``."""
        pointer = _pointer("components", "schemas", name)
        return _format_errors(self._validator(pointer, request=request).iter_errors(instance))

    def _validate_union(self, schema: dict[str, Any], pointer: str, body: Any, *, request: bool) -> list[str]:
        """Validate, first narrowing a top-level anyOf/oneOf by its ``type`` discriminator.

        The spec writes unions such as the interaction callback as ``anyOf`` of object
        schemas whose ``type`` enums are disjoint. Narrowing by ``type`` gives a precise
        error ("data.content too long") instead of "not valid under any of the given schemas".
        """
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches and isinstance(body, dict) and "type" in body:
            doc = self.request_doc if request else self.raw
            chosen = [b for b in branches if body["type"] in _discriminator_values(doc, b)]
            if chosen:
                results = [
                    _format_errors(
                        self._validator(
                            pointer + "/" + ("anyOf" if "anyOf" in schema else "oneOf") + f"/{i}",
                            request=request,
                        ).iter_errors(body)
                    )
                    for i, b in enumerate(branches)
                    if b in chosen
                ]
                return min(results, key=len)
            allowed = sorted({v for b in branches for v in _discriminator_values(doc, b)})
            if allowed:
                return [f"type: {body['type']!r} is not one of {allowed}"]
        return _format_errors(self._validator(pointer, request=request).iter_errors(body))


def _discriminator_values(doc: dict[str, Any], branch: dict[str, Any]) -> list[Any]:
    """The allowed values of ``properties.type`` (enum or const) of a (possibly $ref'd) object schema."""
    target = branch
    if "$ref" in branch:
        target = _resolve_local(doc, branch["$ref"])
    type_schema = target.get("properties", {}).get("type", {}) if isinstance(target, dict) else {}
    if "enum" in type_schema:
        return list(type_schema["enum"])
    if "const" in type_schema:
        return [type_schema["const"]]
    return []


def _resolve_local(doc: dict[str, Any], ref: str) -> Any:
    """Follow a ``#/a/b`` reference inside ``doc``."""
    node: Any = doc
    for token in ref.lstrip("#/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _rebase_refs(schema: Any, base: str) -> Any:
    """Copy ``schema`` with local ``#/...`` refs pointed at the registered document ``base``."""
    if isinstance(schema, dict):
        return {
            k: (base + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase_refs(v, base))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase_refs(v, base) for v in schema]
    return schema


def _coerce_query(schema: dict[str, Any], raw: str, doc: dict[str, Any]) -> Any:
    """Turn a query-string value into the JSON type its schema expects (Discord accepts 1/0/true/false)."""
    target = _resolve_local(doc, schema["$ref"]) if "$ref" in schema else schema
    t = target.get("type")
    if t == "boolean":
        low = raw.lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        return raw
    if t == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    return raw


def _format_errors(errors: Iterable[ValidationError]) -> list[str]:
    """Render jsonschema errors as ``path: message``, descending into the closest union branch."""
    out: list[str] = []
    for err in errors:
        for leaf in _leaves(err):
            where = _json_path(leaf.absolute_path) or "<body>"
            out.append(f"{where}: {_describe(leaf)}")
    return sorted(set(out))


def _leaves(err: ValidationError, depth: int = 0) -> list[ValidationError]:
    """The errors that explain ``err``: for anyOf/oneOf, those of the branch that failed least.

    jsonschema's best_match stops at a union whose branches fail alike (e.g. both webhook
    body variants reject a long content), which would hide the actual field.
    """
    if not err.context or depth > 20:
        return [err]
    if all(sub.validator == "const" and sub.absolute_path == err.absolute_path for sub in err.context):
        return [err]  # an enum written as oneOf of consts: report it as one enum failure
    by_branch: dict[Any, list[ValidationError]] = {}
    for sub in err.context:
        by_branch.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else 0, []).append(sub)
    base = len(err.absolute_path)

    def score(errs: list[ValidationError]) -> tuple[int, int, int]:
        leaves = [leaf for e in errs for leaf in _leaves(e, depth + 1)]
        # A branch that fails on the value's own type, or on its "type" discriminator,
        # is a different kind of object altogether; prefer a branch that got further.
        wrong_kind = any(
            (leaf.validator == "type" and len(leaf.absolute_path) == base)
            or (
                leaf.validator in ("enum", "const")
                and len(leaf.absolute_path) == base + 1
                and leaf.absolute_path[-1] == "type"
            )
            for leaf in leaves
        )
        return (int(wrong_kind), -max(len(leaf.absolute_path) for leaf in leaves), len(leaves))

    best = min(by_branch.values(), key=score)
    leaves: list[ValidationError] = []
    for sub in best:
        leaves += _leaves(sub, depth + 1)
    return leaves


def _short(value: Any) -> str:
    """A bounded repr of an instance for error messages."""
    r = repr(value)
    return r if len(r) <= 80 else r[:77] + "..."


def _describe(err: ValidationError) -> str:
    """A concise message without dumping a 4000-character string."""
    v, inst, limit = err.validator, err.instance, err.validator_value
    if v in ("maxLength", "minLength") and isinstance(inst, str):
        return f"length {len(inst)} violates {v} {limit}"
    if v in ("maxItems", "minItems") and isinstance(inst, list):
        return f"{len(inst)} items violates {v} {limit}"
    if v == "required":
        return err.message
    if v in ("oneOf", "anyOf") and err.context and all(sub.validator == "const" for sub in err.context):
        return f"{_short(inst)} is not one of {sorted({_short(sub.validator_value) for sub in err.context})}"
    if v in ("type", "enum", "const", "pattern", "minimum", "maximum"):
        return f"{_short(inst)} violates {v} {_short(limit)}"
    return err.message if len(err.message) <= 300 else err.message[:297] + "..."


def _json_path(parts: Iterable[Any]) -> str:
    """``['data', 'embeds', 0, 'title']`` -> ``data.embeds[0].title``."""
    s = ""
    for p in parts:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else str(p))
    return s


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> OpenAPISpec:
    """Parse and index the spec; cached per (path, mtime) so it is read once per process."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    spec = OpenAPISpec(doc, source=path)
    log.info(
        "loaded Discord OpenAPI %s from %s (%d paths)",
        doc.get("info", {}).get("version"),
        path,
        len(doc["paths"]),
    )
    return spec


def load_spec(path: str | os.PathLike[str] | None = None) -> OpenAPISpec:
    """Load (once) Discord's OpenAPI description; raises FileNotFoundError with the looked-up path."""
    p = Path(path) if path is not None else default_spec_path()
    if not p.is_file():
        raise FileNotFoundError(
            f"Discord OpenAPI spec not found at {p}; set {SPEC_ENV_VAR} or place shared/ beside the repo"
        )
    return _load_cached(str(p.resolve()), p.stat().st_mtime_ns)


# ---------------------------------------------------------------------------
# Limits and product rules the spec does not (fully) encode.
# ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A string field's value, or '' for missing/null."""
    return value if isinstance(value, str) else ""


def embed_problems(embeds: Any, where: str = "embeds") -> list[str]:
    """Check Discord's documented embed limits, including the 6000-character total."""
    problems: list[str] = []
    if embeds is None:
        return problems
    if not isinstance(embeds, list):
        return [f"{where}: must be a list"]
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"{where}: {len(embeds)} embeds > {EMBEDS_MAX}")
    total = 0
    for i, e in enumerate(embeds):
        w = f"{where}[{i}]"
        if not isinstance(e, dict):
            problems.append(f"{w}: must be an object")
            continue
        title, desc = _text(e.get("title")), _text(e.get("description"))
        footer = _text((e.get("footer") or {}).get("text"))
        author = _text((e.get("author") or {}).get("name"))
        for name, val, lim in (
            ("title", title, EMBED_TITLE_MAX),
            ("description", desc, EMBED_DESCRIPTION_MAX),
            ("footer.text", footer, EMBED_FOOTER_MAX),
            ("author.name", author, EMBED_AUTHOR_MAX),
        ):
            if len(val) > lim:
                problems.append(f"{w}.{name}: {len(val)} chars > {lim}")
        total += len(title) + len(desc) + len(footer) + len(author)
        fields = e.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append(f"{w}.fields: {len(fields)} fields > {EMBED_FIELDS_MAX}")
        for j, f in enumerate(fields):
            fname, fval = _text(f.get("name")), _text(f.get("value"))
            if not fname.strip():
                problems.append(f"{w}.fields[{j}].name: must not be empty")
            if not fval.strip():
                problems.append(f"{w}.fields[{j}].value: must not be empty")
            if len(fname) > EMBED_FIELD_NAME_MAX:
                problems.append(f"{w}.fields[{j}].name: {len(fname)} chars > {EMBED_FIELD_NAME_MAX}")
            if len(fval) > EMBED_FIELD_VALUE_MAX:
                problems.append(f"{w}.fields[{j}].value: {len(fval)} chars > {EMBED_FIELD_VALUE_MAX}")
            total += len(fname) + len(fval)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"{where}: total embed text {total} chars > {EMBED_TOTAL_MAX}")
    return problems


def _walk_components(components: Iterable[Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (path, component) for every component at any depth."""
    for i, c in enumerate(components):
        if not isinstance(c, dict):
            continue
        w = f"{where}[{i}]"
        yield w, c
        for key in ("components",):
            if isinstance(c.get(key), list):
                yield from _walk_components(c[key], f"{w}.{key}")
        for key in ("accessory", "component"):
            if isinstance(c.get(key), dict):
                yield from _walk_components([c[key]], f"{w}.{key}")


def component_problems(components: Any, *, flags: int = 0, where: str = "components") -> list[str]:
    """Check component limits: rows, buttons per row, custom_id/label lengths, select options, uniqueness."""
    problems: list[str] = []
    if components is None:
        return problems
    if not isinstance(components, list):
        return [f"{where}: must be a list"]
    v2 = bool(flags & MESSAGE_FLAG_COMPONENTS_V2)
    if not v2:
        rows = [c for c in components if isinstance(c, dict) and c.get("type") == 1]
        if len(components) > ACTION_ROWS_MAX:
            problems.append(f"{where}: {len(components)} action rows > {ACTION_ROWS_MAX}")
        if len(rows) != len(components):
            problems.append(
                f"{where}: top-level components must be action rows (type 1) without the components-v2 flag"
            )
    seen: dict[str, str] = {}
    for w, c in _walk_components(components, where):
        ctype = c.get("type")
        if ctype == 1:
            children = c.get("components") or []
            buttons = [x for x in children if isinstance(x, dict) and x.get("type") == 2]
            selects = [x for x in children if isinstance(x, dict) and x.get("type") in _SELECT_TYPES]
            if len(buttons) > ROW_BUTTONS_MAX:
                problems.append(f"{w}: {len(buttons)} buttons in one row > {ROW_BUTTONS_MAX}")
            if selects and len(children) > 1:
                problems.append(f"{w}: a select menu must be alone in its action row")
            if not children:
                problems.append(f"{w}: action row must hold at least one component")
        cid = c.get("custom_id")
        if isinstance(cid, str):
            if not cid or len(cid) > CUSTOM_ID_MAX:
                problems.append(f"{w}.custom_id: length {len(cid)} not in 1..{CUSTOM_ID_MAX}")
            if cid in seen:
                problems.append(f"{w}.custom_id: duplicate of {seen[cid]} ({cid!r})")
            seen[cid] = w
        if ctype == 2:
            label = _text(c.get("label"))
            if len(label) > BUTTON_LABEL_MAX:
                problems.append(f"{w}.label: {len(label)} chars > {BUTTON_LABEL_MAX}")
            style = c.get("style")
            if style == 5 and (not c.get("url") or cid is not None):
                problems.append(f"{w}: link button (style 5) needs url and no custom_id")
            elif style in (1, 2, 3, 4) and cid is None:
                problems.append(f"{w}: non-link button needs a custom_id")
        if ctype in _SELECT_TYPES:
            placeholder = _text(c.get("placeholder"))
            if len(placeholder) > SELECT_PLACEHOLDER_MAX:
                problems.append(f"{w}.placeholder: {len(placeholder)} chars > {SELECT_PLACEHOLDER_MAX}")
            if ctype == 3:
                options = c.get("options") or []
                if not 1 <= len(options) <= SELECT_OPTIONS_MAX:
                    problems.append(f"{w}.options: {len(options)} options not in 1..{SELECT_OPTIONS_MAX}")
                for k, o in enumerate(options):
                    for key in ("label", "value", "description"):
                        if len(_text(o.get(key))) > SELECT_OPTION_TEXT_MAX:
                            problems.append(f"{w}.options[{k}].{key}: > {SELECT_OPTION_TEXT_MAX} chars")
    return problems


def allowed_mentions_problems(body: Mapping[str, Any], *, creating: bool) -> list[str]:
    """The product rule: messages go out with AllowedMentions.none(), i.e. ``{"parse": []}``.

    Creating a message requires the field; an edit may omit it (edits do not notify),
    but if present it must still be the no-ping form.
    """
    am = body.get("allowed_mentions", None)
    if am is None:
        return (
            ["allowed_mentions: missing (every message must be sent with AllowedMentions.none())"] if creating else []
        )
    if not isinstance(am, dict):
        return ["allowed_mentions: must be an object"]
    problems = []
    if am.get("parse") != []:
        problems.append(f"allowed_mentions.parse: must be [] (got {am.get('parse')!r})")
    for key in ("users", "roles"):
        if am.get(key):
            problems.append(f"allowed_mentions.{key}: must not list anyone to ping (got {am[key]!r})")
    if am.get("replied_user"):
        problems.append("allowed_mentions.replied_user: must not ping the replied-to user")
    return problems


def message_problems(
    body: Any,
    *,
    creating: bool,
    has_files: bool = False,
) -> list[str]:
    """All documented limits plus the product rules for one message-creating/editing body."""
    if not isinstance(body, dict):
        return ["message body must be a JSON object"]
    problems: list[str] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        problems.append(f"content: {len(content)} chars > {CONTENT_MAX}")
    problems += embed_problems(body.get("embeds"))
    flags = body.get("flags") or 0
    problems += component_problems(body.get("components"), flags=flags if isinstance(flags, int) else 0)
    problems += allowed_mentions_problems(body, creating=creating)
    if creating and not (
        _text(content).strip()
        or body.get("embeds")
        or body.get("components")
        or has_files
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        problems.append("message: cannot send an empty message (code 50006)")
    return problems
