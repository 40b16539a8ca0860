"""Self-contained HTML report of a run directory (inline SVG charts and CSS, no network, no scripts).

    from sc_toolkit.run.report import write_report
    path = write_report("runs/cuprate_gan-20260101-120000")   # -> .../report.html
"""

from .builder import SECTIONS, build_report, write_report

__all__ = ["SECTIONS", "build_report", "write_report"]
