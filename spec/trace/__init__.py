"""The trace format, version 1 (TRACE-FORMAT.md): pydantic models of a line, their JSON
Schema, and streaming readers (a validated one and a fast one for the validator)."""

from .model import (
    FORMAT_VERSION,
    ApiLine,
    CallbackLine,
    CallKitLine,
    EnvLine,
    ErrorResult,
    MetaArgs,
    MetaLine,
    StateLine,
    TraceLine,
    line_problem,
    parse_line,
    result_code,
    trace_json_schema,
)
from .reader import (
    MAX_LINE,
    Line,
    TraceOrder,
    Unusable,
    iter_raw,
    iter_trace_files,
    read_trace,
)

__all__ = [
    "FORMAT_VERSION", "ApiLine", "CallbackLine", "CallKitLine", "EnvLine", "ErrorResult",
    "MetaArgs", "MetaLine", "StateLine", "TraceLine", "line_problem", "parse_line",
    "result_code", "trace_json_schema", "MAX_LINE", "Line", "TraceOrder", "Unusable",
    "iter_raw", "iter_trace_files", "read_trace",
]
