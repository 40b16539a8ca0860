"""Write a run's report.html and render it in headless Chromium: DOM checks, console errors, screenshot.

    .venv/bin/python benchmarks/generation_report_render.py RUN_DIR [--screenshot report.png]

Needs `chromium` on PATH (Debian: apt-get install chromium). Prints the sections and plot elements
found in the rendered DOM and any console error line; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import sc_toolkit

BASE = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--screenshot", type=Path, help="also save a full-page PNG here")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found: apt-get install chromium")
        return 2
    t = time.perf_counter()
    path = sc_toolkit.open_run(args.run_dir).report()
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB) in {time.perf_counter() - t:.2f} s")
    text = path.read_text()
    external = re.findall(r"https?://[^\"' )]+|<script|<link", text)
    t = time.perf_counter()
    done = subprocess.run([chromium, *BASE, "--enable-logging=stderr", "--v=0", "--dump-dom", path.as_uri()],
                          capture_output=True, text=True, timeout=180)
    print(f"chromium --dump-dom: exit {done.returncode} in {time.perf_counter() - t:.2f} s")
    dom = done.stdout
    found = re.findall(r'<section id="(\w+)"', dom)
    print("sections rendered:", ", ".join(found))
    print("plot elements:", {tag: dom.count(f"<{tag}") for tag in ("svg", "polyline", "circle", "table")},
          "periodic tables:", dom.count('class="ptable"'))
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    for line in console:
        print("console:", line)
    if args.screenshot:
        height = 1200 + 520 * len(found) + 450 * dom.count('class="ptable"')
        subprocess.run([chromium, *BASE, f"--window-size=1200,{height}", f"--screenshot={args.screenshot.resolve()}",
                        path.as_uri()], capture_output=True, timeout=180, cwd=args.screenshot.resolve().parent)
        print(f"screenshot: {args.screenshot}")
    problems = []
    if done.returncode != 0:
        problems.append("chromium failed")
    if external:
        problems.append(f"external references: {external[:5]}")
    if console:
        problems.append("console errors")
    if "summary" not in found or dom.count("<svg") == 0 and "losses" in found:
        problems.append("sections or plots missing")
    print("OK" if not problems else "FAILED: " + "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
