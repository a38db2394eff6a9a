"""Trace format version 1 (TRACE-FORMAT.md) as pydantic models: the documented contract.

One line of a trace is a `TraceLine`, a union discriminated on `kind`. The models are strict:
JSON types are never coerced (a boolean is not a number, "1" is not 1), fields the format does
not know are ignored. `line_problem` is the same check written with plain `isinstance` tests,
for the validator's fast path (`exovoice.spec.trace.reader.iter_raw`); tests hold the two to the same
usable/unusable verdict, and the readers take their reasons from `line_problem`.

Only a malformed line makes a trace unusable. Argument *values* the guide does not allow (a
rating of 7, a dial message with '!', a 20-character subscriber name) are judged by the spec.

Decisions, one sentence each:

- `args.error` / `args.endReason` / any other argument whose value is not in its enum is usable
  and judged by the spec, because a misbehaving SDK can emit one and that is a finding about
  the client, not about the trace.
- `result.error` that is not an ErrorType makes the line unusable, because `result` is the
  trace format's own encoding of a refusal, not an observed value (extra keys beside `error`
  are ignored).
- `result` on a line whose kind is not `api` makes the line unusable (the format gives it to
  api lines only, and a callback's error belongs in `args.error`).
- JSON `null` is not "absent": `"call": null` (or args, ts, result, meta client/sdkVersion) is
  a field of the wrong type.
- `ts` must be a finite number (int or float, not bool); a `ts` smaller than an earlier line's
  makes that line unusable with its line number (a trace-level check done by the reader).
- A meta line is allowed only as the first non-blank line; elsewhere it is unusable.
- A meta line needs `args.version`, which must be the integer 1 (not true, not 1.0); another
  version is unusable for this reader; `callkit` must be a boolean, `client` and `sdkVersion`
  strings.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ..vocabulary import KIND_NAMES, Api, Callback, CallKit, Env, ErrorType, Kind

FORMAT_VERSION = 1

# Literal types built from the vocabulary (never restated here).
MetaName = Literal[KIND_NAMES[Kind.META]]  # type: ignore[valid-type]
ApiName = Literal[Api.names()]  # type: ignore[valid-type]
CallbackName = Literal[Callback.names()]  # type: ignore[valid-type]
# the guide's CallStates and the iOS enum's other values (TRACE-FORMAT.md, v1 addition)
StateName = Literal[KIND_NAMES[Kind.STATE]]  # type: ignore[valid-type]
EnvName = Literal[Env.names()]  # type: ignore[valid-type]
CallKitName = Literal[CallKit.names()]  # type: ignore[valid-type]
ErrorTypeName = Literal[ErrorType.names()]  # type: ignore[valid-type]

Timestamp = Annotated[
    Union[StrictInt, Annotated[StrictFloat, Field(allow_inf_nan=False)]],
    WithJsonSchema({"type": "number"}),
]

_STRICT = ConfigDict(strict=True, extra="ignore", frozen=True)


def _not_null(v: Any) -> Any:
    if v is None:
        raise ValueError("null is not allowed; leave the field out instead")
    return v


class ErrorResult(BaseModel):
    """`{"error": "<ErrorType>"}`: the SDK refused the api call with this ErrorType."""

    model_config = _STRICT
    error: ErrorTypeName


class _LineBase(BaseModel):
    # no `result` except on api lines (ApiLine overrides the config)
    model_config = ConfigDict(**_STRICT, json_schema_extra={"not": {"required": ["result"]}})
    _allows_result: ClassVar[bool] = False

    call: Optional[str] = Field(
        default=None, description="id of the call the line concerns; unique within the trace")
    args: dict[str, Any] = Field(
        default_factory=dict, description="the arguments of the line")
    ts: Optional[Timestamp] = Field(
        default=None, description="seconds; where present, non-decreasing over the trace")

    @field_validator("call", "ts", "args", mode="before")
    @classmethod
    def _present_not_null(cls, v: Any) -> Any:
        return _not_null(v)

    @model_validator(mode="before")
    @classmethod
    def _result_only_on_api(cls, data: Any) -> Any:
        if isinstance(data, dict) and "result" in data and not cls._allows_result:
            raise ValueError("result is allowed on api lines only")
        return data


class MetaArgs(BaseModel):
    model_config = _STRICT

    version: Literal[1] = Field(description="the trace format version; this reader reads 1")
    callkit: bool = Field(
        default=False, description="whether the app integrates CallKit (changes the PSTN rules)")
    client: Optional[str] = Field(default=None, description="free text naming the client")
    sdkVersion: Optional[str] = Field(default=None, description="free text")

    @field_validator("version", mode="before")
    @classmethod
    def _exactly_int(cls, v: Any) -> Any:
        if type(v) is not int:  # Literal[1] alone would take True and 1.0
            raise ValueError("version must be the integer 1")
        return v

    @field_validator("client", "sdkVersion", mode="before")
    @classmethod
    def _present_not_null(cls, v: Any) -> Any:
        return _not_null(v)


class MetaLine(_LineBase):
    """Optional, only as the first line: which format version and whether CallKit is used."""

    kind: Literal["meta"]
    name: MetaName
    args: MetaArgs  # type: ignore[assignment]


class ApiLine(_LineBase):
    """The app calls the SDK."""

    model_config = ConfigDict(**_STRICT, json_schema_extra=None)
    _allows_result: ClassVar[bool] = True
    kind: Literal["api"]
    name: ApiName
    result: Union[Literal["ok"], ErrorResult] = Field(
        default="ok", description='"ok" or {"error": "<ErrorType>"}')
    value: Any = Field(
        default=None, description="what the call returned (v1 addition), e.g. the Bool "
        "relaySessionData returns on iOS; recorded, not judged")

    @field_validator("result", mode="before")
    @classmethod
    def _result_not_null(cls, v: Any) -> Any:
        return _not_null(v)


class CallbackLine(_LineBase):
    """The SDK calls the app; errors ride in args.error, onCallEnded may carry args.endReason."""

    kind: Literal["callback"]
    name: CallbackName


class StateLine(_LineBase):
    """What getCallState() returned for `call` at that point."""

    kind: Literal["state"]
    name: StateName


class EnvLine(_LineBase):
    """The phone around the app."""

    kind: Literal["env"]
    name: EnvName


class CallKitLine(_LineBase):
    """Between app and CallKit; all carry args.uuid."""

    kind: Literal["callkit"]
    name: CallKitName


TraceLine = Annotated[
    Union[MetaLine, ApiLine, CallbackLine, StateLine, EnvLine, CallKitLine],
    Field(discriminator="kind"),
]
TRACE_LINE: TypeAdapter[Any] = TypeAdapter(TraceLine)

_MODELS: dict[str, type[_LineBase]] = {
    Kind.META.value: MetaLine, Kind.API.value: ApiLine, Kind.CALLBACK.value: CallbackLine,
    Kind.STATE.value: StateLine, Kind.ENV.value: EnvLine, Kind.CALLKIT.value: CallKitLine,
}
assert set(_MODELS) == set(Kind.names()), "every kind needs a line model"


def parse_line(obj: Any) -> MetaLine | ApiLine | CallbackLine | StateLine | EnvLine | CallKitLine:
    """Validate one decoded JSON value as a trace line (raises pydantic.ValidationError)."""
    return TRACE_LINE.validate_python(obj)


def result_code(result: Any) -> str:
    """"ok" or the ErrorType name, from a model's `result` or a raw line's `result` value."""
    if result is None or result == "ok":
        return "ok"
    if isinstance(result, ErrorResult):
        return result.error
    return result["error"]


def trace_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one line of a version 1 trace."""
    schema = _drop_nullable(TRACE_LINE.json_schema())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (f"TRACE-FORMAT.md version {FORMAT_VERSION}: one JSON object per line. "
                     "Trace-level rules not expressible here: a meta line only as the first "
                     "non-blank line; ts non-decreasing where present."),
        "title": f"exovoice trace line, format version {FORMAT_VERSION}",
        **schema,
    }


def _drop_nullable(node: Any) -> Any:
    """Optional fields are optional by absence, never null: say so in the schema."""
    if isinstance(node, list):
        return [_drop_nullable(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _drop_nullable(v) for k, v in node.items()}
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and {"type": "null"} in any_of:
        rest = [x for x in any_of if x != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1:
            out.update(rest[0])
        else:
            out["anyOf"] = rest
        if out.get("default", ...) is None:
            del out["default"]
    return out


# --- the fast check, equivalent to the models ---------------------------------------------

_NAMES: dict[str, frozenset[str]] = {k.value: frozenset(v) for k, v in KIND_NAMES.items()}
_KINDS_TEXT = ", ".join(Kind.names()[:-1]) + " or " + Kind.names()[-1]
_ERRORS = frozenset(ErrorType.names())
_META = Kind.META.value
_API = Kind.API.value
_MISSING = object()
_ARTICLE = {Kind.API.value: "an", Kind.ENV.value: "an"}


def json_type(v: Any) -> str:
    """The JSON name of a decoded value's type, for reasons."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def show(v: Any, limit: int = 40) -> str:
    """A short one-line rendering of a decoded scalar; containers by type only."""
    if isinstance(v, (str, int, float, bool)) or v is None:
        try:
            text = json.dumps(v, ensure_ascii=True)
        except ValueError:  # e.g. a huge int over the digit limit
            text = "a very long number"
        return text if len(text) <= limit else text[: limit - 3] + "..."
    return f"an {json_type(v)}" if json_type(v) in ("array", "object") else json_type(v)


def _unknown_name(kind: str, name: Any) -> str:
    if not isinstance(name, str):
        return f"name must be a string, not {json_type(name)}"
    hint = ""
    for k, names in _NAMES.items():
        if name in names:
            hint = f" ({show(name)} is {_ARTICLE.get(k, 'a')} {k} name)"
            break
        same = [n for n in names if n.lower() == name.lower()]
        if same and k == kind:
            hint = f" (did you mean {show(same[0])}?)"
            break
    return f"unknown {kind} name {show(name)}{hint}"


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and math.isfinite(v)


def line_problem(obj: Any) -> str | None:
    """Why a decoded JSON value is not a well-formed trace line, or None.

    Equivalent to `parse_line` raising (tested), at a fraction of its cost.
    """
    if not isinstance(obj, dict):
        return f"not a JSON object (a line is {show(obj)})"
    kind = obj.get("kind", _MISSING)
    if kind is _MISSING:
        return "no kind"
    names = _NAMES.get(kind) if isinstance(kind, str) else None
    if names is None:
        return f"unknown kind {show(kind)} (expected {_KINDS_TEXT})"
    name = obj.get("name", _MISSING)
    if name is _MISSING:
        return "no name"
    if not isinstance(name, str) or name not in names:
        return _unknown_name(kind, name)
    if "call" in obj and not isinstance(obj["call"], str):
        return f"call must be a string, not {json_type(obj['call'])}"
    args = obj.get("args", _MISSING)
    if args is not _MISSING and not isinstance(args, dict):
        return f"args must be an object, not {json_type(args)}"
    if "ts" in obj and not _is_number(obj["ts"]):
        ts = obj["ts"]
        if isinstance(ts, float):
            return f"ts must be a finite number, not {show(ts)}"
        return f"ts must be a number, not {json_type(ts)}"
    if "result" in obj:
        if kind != _API:
            return "result is allowed on api lines only"
        result = obj["result"]
        if result != "ok":
            if not isinstance(result, dict) or "error" not in result:
                return f'result must be "ok" or {{"error": <ErrorType>}}, not {show(result)}'
            err = result["error"]
            if not isinstance(err, str) or err not in _ERRORS:
                return f"result.error {show(err)} is not an ErrorType"
    if kind == _META:
        return _meta_problem(args)
    return None


def _meta_problem(args: Any) -> str | None:
    if args is _MISSING:
        return "meta line has no args.version"
    if "version" not in args:
        return "meta line has no args.version"
    version = args["version"]
    if type(version) is not int:
        return f"meta args.version must be the integer {FORMAT_VERSION}, not {show(version)}"
    if version != FORMAT_VERSION:
        return f"unsupported trace version {show(version)} (this reader reads version 1)"
    if "callkit" in args and not isinstance(args["callkit"], bool):
        return f"meta args.callkit must be true or false, not {show(args['callkit'])}"
    for key in ("client", "sdkVersion"):
        if key in args and not isinstance(args[key], str):
            return f"meta args.{key} must be a string, not {json_type(args[key])}"
    return None


def pydantic_reason(err: ValidationError) -> str:
    """One line from a pydantic error (used only if the fast check ever let a line through)."""
    first = err.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = " ".join(str(first.get("msg", "invalid")).split())
    return f"{loc}: {msg}" if loc else msg
