"""Write every chart's DOT, Mermaid, SVG and PNG, and tell whether a directory is up to date.

The committed `diagrams/` directory is checked for freshness by the tests, so the output is
byte-identical on every run: the texts are deterministic by construction, and SVG and PNG come
from running Graphviz `dot` on that text with fixed options (PNG at a fixed dpi, through the
cairo renderer, which embeds no time stamp). `dot` is run directly, not via graphviz.render,
so that the PNG's dpi can be set without changing the DOT text the SVG is drawn from.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .dot import to_dot
from .extract import CHART_BUILDERS, extract
from .mermaid import to_mermaid

CHARTS: tuple[str, ...] = tuple(CHART_BUILDERS)

PNG_DPI: dict[str, int] = {}
"""Dots per inch of a chart's PNG where DEFAULT_DPI would make the file too big (the limit
is about 1.5 MB a file); the SVG is the one to zoom into."""
DEFAULT_DPI = 96
"""11-point edge labels come out about 15 pixels high: readable at 100 % zoom."""

SUFFIXES: tuple[str, ...] = (".dot", ".mmd", ".svg", ".png")

INSTALL_HINT = ("install Graphviz so that `dot` is on PATH: `apt-get install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS); `python3 run.py` does it "
                "when run as root")


class GraphvizMissing(RuntimeError):
    """Graphviz's `dot` program is not installed; the message says how to install it."""


def dot_executable() -> str:
    path = shutil.which("dot")
    if path is None:
        raise GraphvizMissing(f"Graphviz `dot` not found: {INSTALL_HINT}")
    return path


def run_dot(source: str, fmt: str, *extra: str) -> bytes:
    """Run `dot -T<fmt>` on DOT text; errors from dot become a RuntimeError with its stderr."""
    try:
        done = subprocess.run([dot_executable(), f"-T{fmt}", *extra], input=source.encode(),
                              capture_output=True, check=False)
    except FileNotFoundError as e:  # removed between which() and run()
        raise GraphvizMissing(f"Graphviz `dot` not found: {INSTALL_HINT}") from e
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def chart_files(chart: str) -> dict[str, bytes]:
    """File name -> content for one chart, as write_diagrams would write them."""
    graph = extract(chart)
    dot = to_dot(graph)
    dpi = PNG_DPI.get(chart, DEFAULT_DPI)
    return {
        f"{chart}.dot": dot.encode(),
        f"{chart}.mmd": to_mermaid(graph).encode(),
        f"{chart}.svg": run_dot(dot, "svg"),
        f"{chart}.png": run_dot(dot, "png:cairo", f"-Gdpi={dpi}"),
    }


def all_files() -> dict[str, bytes]:
    dot_executable()  # fail before any work, with the install hint
    out: dict[str, bytes] = {}
    for chart in CHARTS:
        out.update(chart_files(chart))
    return out


def write_diagrams(out_dir: Path) -> list[Path]:
    """Draw every chart into out_dir (created if missing) and return the paths of all its
    files. A file whose content is already right is not rewritten, so its mtime stays."""
    files = all_files()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = out_dir / name
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
        written.append(path)
    return written


def check_fresh(out_dir: Path) -> list[str]:
    """Names of the files in out_dir that are missing or differ from what the spec draws now
    (all four formats, compared byte for byte); empty when the directory is up to date."""
    out_dir = Path(out_dir)
    return [name for name, content in all_files().items()
            if not (out_dir / name).is_file() or (out_dir / name).read_bytes() != content]
