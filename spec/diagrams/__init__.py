"""Diagrams drawn from the spec's charts: DOT, Mermaid, SVG and PNG for each named chart.

The only part of `spec` that imports the `graphviz` package (and runs Graphviz `dot`), so the
spec itself loads where Graphviz is not installed.
"""

from .render import CHARTS, GraphvizMissing, check_fresh, write_diagrams

__all__ = ["CHARTS", "GraphvizMissing", "check_fresh", "write_diagrams"]
