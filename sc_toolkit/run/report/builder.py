"""Build the self-contained HTML report of a run directory.

Each section is built from the files a run writes (see :mod:`sc_toolkit.run.directory`); a section whose
files are missing is left out, and a section that fails to build is replaced by a one-line note,
so that a report is always written. No network: charts are inline SVG, styles inline, no scripts.
"""

from __future__ import annotations

import json
import math
import tomllib
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...chem import SYMBOLS, Compositions
from ..predict import HULL_COLUMN, IN_DOMAIN_COLUMN
from ..directory import (
    ACCEPTED,
    CANDIDATES,
    GENERATOR_TRAINING,
    HISTORY,
    MANIFEST,
    METRICS,
    RECIPE,
    REPORT,
    RANKED_STRUCTURES,
    RESOLVED,
    STRUCTURES,
    STRUCTURES_DIR,
    TRAINING,
    RunDir,
)
from .svg import Chart

#: Section of a run with [structures]: the top structures with their pictures and scores.
STRUCTURES_SECTION = "structures"
#: Pictures of structures the report draws at most.
STRUCTURE_PICTURES = 6
#: Section ids of a composition run, in page order (tests and the rendering check look for them);
#: a run with [structures] adds :data:`STRUCTURES_SECTION` after "candidates".
SECTIONS = ("summary", "recipe", "losses", "tc", "embedding", "elements", "candidates", "stability", "metrics",
            "evaluation")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}td,th{border:1px solid #ccc;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777;font-size:.85em}.note{background:#fff6e0;border-left:4px solid #e0a800;padding:4px 8px}
.chart{display:block;margin:8px 0}.ct{font-size:14px;font-weight:600}.tk{font-size:11px;fill:#444}
.al{font-size:12px;fill:#222}.lg{font-size:12px;fill:#222}
.ptable{display:grid;grid-template-columns:repeat(18,44px);grid-auto-rows:44px;grid-template-rows:repeat(7,44px) 12px;gap:2px;margin:8px 0}
.el{border:1px solid #bbb;font-size:11px;text-align:center;display:flex;flex-direction:column;justify-content:center}
.el b{font-size:13px}.gap{grid-column:1/-1;height:8px}
code{background:#f4f4f4;padding:0 3px}
.structures{display:flex;flex-wrap:wrap;gap:12px}.structure{border:1px solid #ddd;padding:4px 8px}
.structure p{margin:2px 0;font-size:.9em}
"""


def write_report(run_dir: RunDir | str | Path, *, top: int | None = None) -> Path:
    """Write the run's ``report.html`` (atomically) and return its path; never fails on missing pieces."""
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    return run_dir.write_text(REPORT, build_report(run_dir.path, top=top))


def build_report(run_dir: str | Path, *, top: int | None = None) -> str:
    """The report of ``run_dir`` as one HTML string."""
    data = _RunFiles(Path(run_dir))
    builders = [
        ("summary", "Run", _summary), ("recipe", "Recipe", _recipe), ("losses", "Training curves", _losses),
        ("tc", "Tc distributions", _tc), ("embedding", "Generated vs training compositions", _embedding),
        ("elements", "Element frequency", _elements),
        ("candidates", "Top candidates", lambda d: _candidates(d, top)),
        (STRUCTURES_SECTION, "Top structures", _structures),
        ("stability", "Stability", _stability),
        ("metrics", "Metrics and baselines", _metrics), ("evaluation", "Generator evaluation", _evaluation),
    ]
    body, notes = [], []
    for key, title, build in builders:
        try:
            content = build(data)
        except Exception as error:  # a report is always written; a broken section becomes a note
            notes.append(f"section '{title}' could not be built: {type(error).__name__}: {error}")
            continue
        if content:
            body.append(f'<section id="{key}"><h2>{escape(title)}</h2>{content}</section>')
    if notes:
        body.append('<section id="notes"><h2>Notes</h2>' + "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
                    + "</section>")
    name = escape(data.run_dir.name)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>sctk report: {name}</title>"
            f"<style>{CSS}</style></head><body><h1>sctk run report</h1><p class=\"muted\">{name}</p>"
            + "\n".join(body) + "</body></html>\n")


# -- reading the run -------------------------------------------------------------------------------


class _RunFiles:
    """The run directory's files, each read once on demand (None when missing or unreadable)."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self._cache: dict[str, Any] = {}

    def _get(self, name: str, reader):
        if name not in self._cache:
            path = self.run_dir / name
            try:
                self._cache[name] = reader(path) if path.exists() else None
            except Exception:
                self._cache[name] = None
        return self._cache[name]

    def json(self, name: str) -> dict[str, Any] | None:
        return self._get(name, lambda p: json.loads(p.read_text()))

    def toml(self, name: str) -> dict[str, Any] | None:
        return self._get(name, lambda p: tomllib.loads(p.read_text()))

    def table(self, name: str) -> pd.DataFrame | None:
        reader = pd.read_parquet if name.endswith(".parquet") else pd.read_csv
        return self._get(name, reader)

    def column(self, name: str, column: str) -> pd.Series | None:
        """One column of a Parquet table (the candidates may not fit in memory whole), or None."""
        table = RunDir(self.run_dir).read_table(name, columns=[column])
        return None if table is None else table[column]

    def batches(self, name: str, column: str):
        """One column of a Parquet table as Series of a bounded number of rows (none when the table
        or the column is missing)."""
        try:
            for batch in RunDir(self.run_dir).table_batches(name, columns=[column]):
                yield batch[column]
        except (OSError, ValueError):
            return

    @property
    def training(self) -> pd.DataFrame | None:
        """The rows the generator learned from, else the run's training table."""
        table = self.table(GENERATOR_TRAINING)
        return table if table is not None else self.table(TRAINING)

    @property
    def recipe(self) -> dict[str, Any]:
        return self.toml(RESOLVED) or self.toml(RECIPE) or {}

    @property
    def metrics(self) -> dict[str, Any]:
        return self.json(METRICS) or {}

    @property
    def evaluation(self) -> dict[str, Any]:
        return self.metrics.get("evaluation") or {}


# -- helpers ---------------------------------------------------------------------------------------


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return escape(str(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "n/a" if not math.isfinite(value) else f"{value:.4g}"
    return escape(str(value))


def _kv_table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(
        f"<tr><th>{escape(str(k))}</th><td>{v if isinstance(v, _Raw) else _num(v)}</td></tr>" for k, v in rows
    ) + "</table>"


class _Raw(str):
    """Already-escaped HTML."""


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{_num(c)}</td>' if isinstance(c, (int, float, np.number)) and not isinstance(c, bool)
            else f"<td>{c if isinstance(c, _Raw) else _num(c)}</td>" for c in row
        ) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _ref(entry: dict[str, Any] | None) -> str:
    if not entry:
        return ""
    params = entry.get("params") or {}
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{entry.get('use', '?')}" + (f" ({shown})" if shown else "")


def _fractions(formulas) -> np.ndarray | None:
    formulas = [str(f) for f in formulas if isinstance(f, str) and f]
    if not formulas:
        return None
    return Compositions.parse(formulas)[0].amounts


# -- sections --------------------------------------------------------------------------------------


def _summary(d: _RunFiles) -> str:
    manifest = d.json(MANIFEST) or {}
    recipe = d.recipe
    rows: list[tuple[str, Any]] = [("directory", str(d.run_dir))]
    run = recipe.get("run", {})
    for key in ("name", "seed", "device"):
        if key in run:
            rows.append((key, run[key]))
    for key in ("quick", "started", "finished", "attempts", "sc_toolkit", "python", "platform", "git_commit"):
        if key in manifest:
            rows.append((key, manifest[key]))
    if manifest.get("plugins"):
        rows.append(("plugins", ", ".join(f"{k} {v}" for k, v in manifest["plugins"].items())))
    out = _kv_table(rows)
    steps = manifest.get("steps") or []
    if steps:
        out += "<h3>Steps</h3>" + _table(
            ["step", "status", "seconds", "rows out"],
            [[s.get("step", ""), s.get("status", ""), s.get("seconds"), s.get("rows_out", "")] for s in steps],
        )
    return out


def _recipe(d: _RunFiles) -> str:
    recipe = d.recipe
    if not recipe:
        return ""
    rows: list[tuple[str, Any]] = []
    data = recipe.get("data", {})
    source = f"dataset {data['dataset']}" if data.get("dataset") else f"file {data.get('path', '?')}"
    rows.append(("data", source))
    for f in data.get("filters", []) or []:
        rows.append(("data filter", _ref(f)))
    generator = recipe.get("generator")
    if generator:
        rows.append(("generator", _ref(generator)))
        rows.append(("generator encoder", _ref(generator.get("encoder"))))
        rows.append(("samples", generator.get("n_samples")))
        if generator.get("condition"):
            rows.append(("condition", generator["condition"]))
    for p in recipe.get("predictors", []) or []:
        target = p.get("target", "")
        if p.get("threshold") is not None:
            target = f"{target} > {p['threshold']}"
        rows.append((f"predictor {p.get('name', '')}", f"{_ref(p)} on {_ref(p.get('encoder'))}; target {target}; "
                     f"{p.get('holdout', 0.2):.0%} of composition groups held out"))
    for f in recipe.get("filters", []) or []:
        rows.append((f"filter {f.get('name', '')}", _ref(f)))
    if recipe.get("rank"):
        r = recipe["rank"]
        rows.append(("rank", f"by {r.get('by')} ({'descending' if r.get('descending', True) else 'ascending'}), "
                     f"top {r.get('top')}"))
    text = (d.run_dir / RESOLVED)
    out = _kv_table(rows)
    if text.exists():
        out += f"<details><summary>{RESOLVED}</summary><pre>{escape(text.read_text())}</pre></details>"
    return out


def _losses(d: _RunFiles) -> str:
    history = d.json(HISTORY) or {}
    out = []
    for component, rows in history.items():
        if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
            continue
        xs = [r.get("epoch", i + 1) for i, r in enumerate(rows)]
        keys = [k for k in rows[0] if k != "epoch" and isinstance(rows[0][k], (int, float))]
        if not keys:
            continue
        chart = Chart(f"{component}: losses per epoch", "epoch", "value")
        for key in keys:
            chart.line(key, xs, [r.get(key, float("nan")) for r in rows])
        out.append(chart.svg())
    return "".join(out)


def _regression_target(d: _RunFiles) -> tuple[str | None, str]:
    """The first regression predictor's name and target."""
    for p in d.recipe.get("predictors", []) or []:
        if (p.get("params") or {}).get("task", "regression") == "regression" and p.get("threshold") is None:
            return p.get("name"), p.get("target", "tc")
    return None, "tc"


def _tc(d: _RunFiles) -> str:
    name, target = _regression_target(d)
    training = d.training
    accepted = d.table(ACCEPTED)
    evaluation = (d.evaluation.get("metrics") or {}).get("predicted_tc") or {}
    series: list[tuple[str, np.ndarray | None, list[float] | None]] = []
    train_values = None
    if training is not None and target in training.columns:
        train_values = pd.to_numeric(training[target], errors="coerce").dropna().to_numpy()
        series.append((f"training {target} (measured)", train_values, None))
    column = f"{name}_pred" if name else None
    if evaluation.get("available") and evaluation.get("histogram"):
        series.append((f"generated, {d.evaluation.get('n_samples')} evaluation samples (predicted)", None,
                       evaluation["histogram"]["generated"]))
    elif column is not None and (scored := d.column(CANDIDATES, column)) is not None:
        values = pd.to_numeric(scored, errors="coerce").dropna().to_numpy()
        if len(values):
            series.append(("generated candidates scored by the run (predicted)", values, None))
    if accepted is not None and column in accepted.columns:
        values = pd.to_numeric(accepted[column], errors="coerce").dropna().to_numpy()
        if len(values):
            series.append(("accepted candidates (predicted)", values, None))
    if not series:
        return ""
    if evaluation.get("histogram"):
        edges = np.asarray(evaluation["histogram"]["edges"], dtype=float)
    else:
        everything = np.concatenate([s[1] for s in series if s[1] is not None])
        edges = np.linspace(min(0.0, float(everything.min())), max(float(everything.max()), 1.0), 41)
    chart = Chart(f"{target}: share of each set per bin", f"{target} (K)", "share of set")
    rows = []
    for label, values, counts in series:
        if counts is None:
            counts = np.histogram(np.clip(values, edges[0], edges[-1]), edges)[0]
        counts = np.asarray(counts, dtype=float)
        total = counts.sum()
        if total:
            chart.step(label, edges, counts / total)
        rows.append([label, int(total)])
    return chart.svg() + _table(["set", "n"], rows) + (
        '<p class="muted">Each set is normalised to sum to 1. Generated values come from the run\'s '
        "regression predictor; training values are measured.</p>")


def _embedding(d: _RunFiles) -> str:
    emb = d.evaluation.get("embedding")
    if not emb or not emb.get("generated"):
        return ""
    chart = Chart(f"{emb.get('method', '').upper()} of element fractions", "dimension 1", "dimension 2",
                  width=560, height=480)
    train = np.asarray(emb.get("training") or [], dtype=float).reshape(-1, 2)
    gen = np.asarray(emb["generated"], dtype=float).reshape(-1, 2)
    if len(train):
        chart.scatter(f"training ({len(train)})", train[:, 0], train[:, 1])
    chart.scatter(f"generated ({len(gen)})", gen[:, 0], gen[:, 1])
    return chart.svg() + f'<p class="muted">{escape(emb.get("description", ""))}. {escape(emb.get("definition", ""))}.</p>'


def _position(z: int) -> tuple[int, int]:
    """(row, column) of atomic number z on an 18-column table; rows 9-10 are the f-block."""
    if z == 1:
        return 1, 1
    if z == 2:
        return 1, 18
    for period, start in ((2, 3), (3, 11)):
        if start <= z < start + 8:
            i = z - start
            return period, i + 1 if i < 2 else i + 11
    for period, start in ((4, 19), (5, 37)):
        if start <= z < start + 18:
            return period, z - start + 1
    for period, start, f_start in ((6, 55, 57), (7, 87, 89)):
        if z in (start, start + 1):
            return period, z - start + 1
        if f_start <= z < f_start + 15:
            return period + 3, z - f_start + 3
        if f_start + 15 <= z < f_start + 30:
            return period, z - f_start - 15 + 4
    return 10, 18


def _periodic(shares: np.ndarray, title: str) -> str:
    top = float(shares.max()) if len(shares) and shares.max() > 0 else 1.0
    cells = []
    for z, symbol in enumerate(SYMBOLS, start=1):
        row, col = _position(z)
        share = float(shares[z - 1]) if z - 1 < len(shares) else 0.0
        alpha = share / top
        colour = f"rgba(31,119,180,{alpha:.3f})"
        text = "#fff" if alpha > 0.6 else "#222"
        label = f"{share:.1%}" if share > 0 else ""
        cells.append(f'<div class="el" style="grid-row:{row};grid-column:{col};background:{colour};color:{text}" '
                     f'title="{symbol}: {share:.2%} of compositions"><b>{symbol}</b>{label}</div>')
    return f'<h3>{escape(title)}</h3><div class="ptable">' + "".join(cells) + "</div>"


def _elements(d: _RunFiles) -> str:
    sets = []
    training = d.training
    if training is not None and "formula" in training.columns:
        sets.append(("training compositions", [training["formula"]]))
    # the candidates batch by batch: a run may have screened more than fit in memory at once
    sets.append(("generated candidates (all decoded samples of the run)", d.batches(CANDIDATES, "formula")))
    accepted = d.table(ACCEPTED)
    if accepted is not None and "formula" in accepted.columns and len(accepted):
        sets.append(("accepted candidates", [accepted["formula"]]))
    out = []
    for title, parts in sets:
        containing, n = np.zeros(len(SYMBOLS)), 0
        for formulas in parts:
            amounts = _fractions(formulas)
            if amounts is not None:
                containing += (amounts > 0).sum(axis=0)
                n += len(amounts)
        if n:
            out.append(_periodic(containing / n, f"{title}: share of the {n:,} compositions containing each element"))
    return "".join(out)


def _candidates(d: _RunFiles, top: int | None) -> str:
    accepted = d.table(ACCEPTED)
    if accepted is None:
        return ""
    if top is None:
        top = int((d.recipe.get("rank") or {}).get("top", 25))
    if accepted.empty:
        return "<p>No candidate passed every filter.</p>"
    shown = accepted.head(top)
    columns = [c for c in shown.columns if c not in ("composition_key", "sample")]
    rows = [[row[c] for c in columns] for _, row in shown.iterrows()]
    note = ""
    if IN_DOMAIN_COLUMN in accepted.columns:
        outside = accepted[IN_DOMAIN_COLUMN].astype("boolean").eq(False).fillna(False)
        shown_outside = ", ".join(f"#{r}" for r in shown.loc[outside.loc[shown.index], "rank"])
        note = (f'<p class="note">{int(outside.sum()):,} of the {len(accepted):,} accepted candidates lie outside the '
                "applicability domain of the models (in_domain = False): their predictions are extrapolations"
                + (f"; among those shown: {escape(shown_outside)}" if shown_outside else "") + ".</p>")
    return (f"<p>{len(accepted):,} accepted; the first {len(shown)} by the recipe's ranking.</p>" + note
            + _table(columns, rows))


def _structures(d: _RunFiles) -> str:
    """The best-ranked structures, each drawn (majority element per site) beside its scores, and the
    counts of every proposed structure: relaxed, rejected and why."""
    from ..structures import picture_svg, read_cif

    table, ranked = d.table(STRUCTURES), d.table(RANKED_STRUCTURES)
    if table is None or ranked is None:
        return ""
    reasons = table.loc[table["rejected"].fillna("") != "", "rejected"].value_counts()
    counts = (f"<p>{table['formula'].nunique():,} compositions, {int(table['n_sites'].notna().sum()):,} structures "
              f"proposed, {int(table['relaxed'].sum()):,} relaxed, {len(ranked):,} ranked"
              + "".join(f"; {n:,} {escape(str(r))}" for r, n in reasons.items()) + ".</p>")
    if ranked.empty:
        return counts
    hidden = {"reduced_formula", "composition_rank", "cif", "n_sites", "relax_steps", "relaxed", "rejected", "ordered"}
    columns = [c for c in ranked.columns if c not in hidden and not c.endswith(("_domain_distance", "_in_domain"))]
    cards = []
    for _, row in ranked.head(STRUCTURE_PICTURES).iterrows():
        path = d.run_dir / STRUCTURES_DIR / f"{row['structure_id']}.cif"
        picture = picture_svg(read_cif(path.read_text()))
        order = "" if bool(row.get("ordered", True)) else " (partial occupancies: majority element drawn)"
        cards.append(f'<div class="structure"><p><b>#{int(row["rank"])} {escape(str(row["formula"]))}</b> '
                     f'{escape(str(row.get("space_group", "")))}{escape(order)}</p>{picture}</div>')
    return (counts + '<div class="structures">' + "".join(cards) + "</div>"
            + f"<p>Every structure is in <code>{STRUCTURES_DIR}/&lt;structure_id&gt;.cif</code>; the scores "
            "were computed on that CIF.</p>" + _table(columns, [[row[c] for c in columns] for _, row in ranked.iterrows()]))


def _stability(d: _RunFiles) -> str:
    """Predicted distance to the hull of known phases: its distribution over the candidates, the
    stable share, the evaluation's stable-unique-novel rate, and the hull's sources."""
    accepted = d.table(ACCEPTED)
    scored = d.column(CANDIDATES, HULL_COLUMN)
    series = [(label, pd.to_numeric(values, errors="coerce").dropna().to_numpy())
              for label, values in (("scored candidates", scored),
                                    ("accepted candidates", None if accepted is None else accepted.get(HULL_COLUMN)))
              if values is not None]
    series = [(label, values) for label, values in series if len(values)]
    sources = next((r.get("hull") for r in d.metrics.get("predictors", {}).values() if r.get("hull")), None)
    sun = (d.evaluation.get("metrics") or {}).get("stable_unique_novel") or {}
    out = ""
    if series:
        top = max(0.5, float(max(np.quantile(v, 0.99) for _, v in series)))
        edges = np.linspace(min(0.0, float(min(v.min() for _, v in series))), top, 41)
        chart = Chart("predicted distance to the hull of known phases", "e_hull_pred (eV/atom)", "share of set")
        rows = []
        for label, values in series:
            counts = np.histogram(np.clip(values, edges[0], edges[-1]), edges)[0].astype(float)
            chart.step(label, edges, counts / counts.sum())
            rows.append([label, len(values), float((values <= 0.1).mean()), float(np.median(values))])
        out += chart.svg() + _table(["set", "n", "share within 0.1 eV/atom", "median (eV/atom)"], rows)
    elif sources:
        out += "<p>No scored candidate has a hull distance.</p>"
    if sun.get("available"):
        out += (f"<p>Stable, unique and novel: {_num(sun['value'])} of the decoded evaluation samples "
                f"(about {_num(sun['count'])} +- {_num(sun['stderr'])} distinct compositions; stable share "
                f"{_num(sun['stable_share_of_novel'])} of {_num(sun['n_judged'])} judged).</p>")
    if sources:
        out += f'<p class="muted">Hull of known phases: {escape(json.dumps(sources))}</p>'
    return out

def _metrics(d: _RunFiles) -> str:
    metrics = d.metrics
    out = []
    if metrics.get("data"):
        out.append("<h3>Data</h3>" + _kv_table(list(metrics["data"].items())))
    for name, report in (metrics.get("predictors") or {}).items():
        if not isinstance(report, dict):
            continue
        out.append(f"<h3>Predictor {escape(name)}</h3>")
        info = [(k, report[k]) for k in ("target", "label", "n_train", "n_test", "split") if k in report]
        out.append(_kv_table(info))
        groups = [k for k, v in report.items() if isinstance(v, dict) and k not in ("provenance", "rates")
                  and all(isinstance(x, (int, float)) or x is None for x in v.values())]
        names = sorted({m for g in groups for m in report[g]})
        if groups:
            out.append(_table(["metric"] + groups, [[m] + [report[g].get(m) for g in groups] for m in names]))
            out.append('<p class="muted">model on the held-out composition groups beside trivial baselines '
                       "(training median / mean for regression, majority class for classification).</p>")
        if report.get("rates"):
            out.append(_kv_table([(f"hold-out {k}", v) for k, v in report["rates"].items()]))
        if report.get("provenance"):
            out.append(f"<p class=\"muted\">provenance: {escape(json.dumps(report['provenance']))}</p>")
    generation = metrics.get("generation")
    if generation:
        out.append("<h3>Generation and filters</h3>")
        out.append(_kv_table([(k, v) for k, v in generation.items() if not isinstance(v, dict)]))
        filters = generation.get("filters") or {}
        if filters:
            out.append(_table(["filter", "in", "kept", "kept share"],
                              [[k, v.get("in"), v.get("kept"), (v.get("kept") / v["in"]) if v.get("in") else None]
                               for k, v in filters.items()]))
    return "".join(out)


def _evaluation(d: _RunFiles) -> str:
    ev = d.evaluation
    metrics = ev.get("metrics") or {}
    if not metrics:
        return ""
    head = _kv_table([(k, ev.get(k)) for k in ("n_samples", "seed", "condition") if k in ev]
                     + [("generator", (ev.get("generator") or {}).get("name")),
                        ("seconds", ", ".join(f"{k} {v:.2f}" for k, v in (ev.get("seconds") or {}).items()))])
    rows = []
    for key, m in metrics.items():
        if not isinstance(m, dict):
            continue
        if key == "class_distribution":
            parts = []
            for scheme in ("scgan", "lim"):
                s = m.get(scheme) or {}
                for side in ("generated", "training"):
                    if s.get(side):
                        parts.append(f"{scheme} {side}: " + ", ".join(f"{c} {v:.1%}" for c, v in s[side].items()))
            value = _Raw("<br>".join(escape(p) for p in parts))
        elif key == "predicted_tc":
            s = m.get("summary") or {}
            t = m.get("training_summary") or {}
            value = (_Raw(escape(f"generated: mean {s.get('mean', float('nan')):.1f}, median {s.get('median', float('nan')):.1f}, "
                                 f"p90 {s.get('p90', float('nan')):.1f}, max {s.get('max', float('nan')):.1f} K; training "
                                 f"(measured): mean {t.get('mean', float('nan')):.1f}, max {t.get('max', float('nan')):.1f} K"))
                     if m.get("available") else None)
        elif key == "uniqueness_by_n":
            value = _Raw(escape(", ".join(f"n = {int(n):,}: {v:.4f}" for n, v in m.get("values", {}).items())))
        elif key == "elements_per_composition":
            value = _Raw(escape("; ".join(
                f"{side}: mean {m[side]['mean']:.2f}, median {m[side]['median']:.0f}, max {m[side]['max']}, "
                f"one element {m[side].get('single_element_share', float('nan')):.1%}"
                for side in ("generated", "training") if m.get(side))))
        elif key == "predicted_superconductor" and m.get("value") is not None:
            value = _Raw(escape(
                f"p = {m['value']:.4f} ({m.get('label', '')}); tp = {_num(m.get('tp_rate'))}, fp = {_num(m.get('fp_rate'))}; "
                f"rho = {_num(m.get('rho'))}"))
        else:
            value = m.get("value")
            if isinstance(value, float):
                value = _Raw(f"{value:.4f}" + (f" ({m['count']:,} of {m['total']:,})" if "count" in m and "total" in m else ""))
        note = m.get("reason", "")
        if m.get("settings"):
            s = m["settings"]
            note = (note + " " if note else "") + "; ".join(
                f"{k}={s[k]}" for k in ("smact", "include_alloys", "use_pauling_test", "oxidation_states") if k in s)
        if key == "recovery_training" and m.get("available"):
            note = (note + " " if note else "") + (
                f"{m['n_training_compositions']:,} training compositions; near {m['near']['value']:.4f} "
                f"({m['near']['count']:,})")
        if key == "known_share" and m.get("near"):
            note = (note + " " if note else "") + (
                f"{m['distinct_known']:,} distinct known compositions generated; {m['in_training']:.4f} of the samples "
                f"are training compositions; near {m['near']['value']:.4f} ({m['near']['count']:,})")
        if key == "recovery" and m.get("n_held_out") is not None:
            note = (note + " " if note else "") + f"held-out set: {m['n_held_out']:,} compositions of {', '.join(m.get('classes', []))}"
            if m.get("near"):
                near = m["near"]
                note += (f"; near recovery {near['value']:.4f} ({near['count']:,}): same elements, every atomic "
                         f"fraction within {near['tolerance']}")
        rows.append([key, value if value is not None else _Raw("<i>unavailable</i>"),
                     _Raw(escape(m.get("definition", ""))), _Raw(escape(note))])
    out = head + _table(["metric", "value", "definition", "settings / notes"], rows)
    examples = ev.get("examples") or []
    if examples:
        out += "<p class=\"muted\">First distinct generated formulas: " + escape(", ".join(examples[:10])) + "</p>"
    return out
