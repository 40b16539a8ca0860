"""The ``sctk`` command line: run, resume, check, list-plugins, describe, data."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .errors import Interrupted, RecipeError, SctkError, UserError, os_problem

if TYPE_CHECKING:
    import pandas as pd

    from .run.api import Run

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="sc-toolkit: machine learning for superconductor discovery.")
data_app = typer.Typer(no_args_is_help=True, help="List, fetch and verify datasets.")
app.add_typer(data_app, name="data")

# Wide enough for plans and tables when the output is a file or a pipe, not a terminal.
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

SetOption = Annotated[list[str] | None, typer.Option("--set", help="override a recipe value: key=value")]
QuickOption = Annotated[bool, typer.Option("--quick", help="same code paths on a small slice (about a minute)")]
ModifiedDataOption = Annotated[bool, typer.Option(
    "--allow-modified-data", help="use dataset files whose sha256 differs from the catalog's (recorded in the manifest)")]


def _registry():
    from .registry import default_registry

    return default_registry()


def _version_callback(value: bool) -> None:
    if value:
        registry = _registry()
        out.print(f"sc-toolkit {__version__}")
        for name, version in sorted(registry.plugins.items()):
            out.print(escape(f"  plugin {name} {version}"))
        for failure in registry.failures:
            out.print(escape(f"  plugin {failure.plugin} failed to load: {failure.error}"), highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="show versions of sc-toolkit and its plugins")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks of errors")] = False,
) -> None:
    """sc-toolkit: machine learning for superconductor discovery."""


@app.command()
def check(recipe: Path, set_: SetOption = None, quick: QuickOption = False,
          allow_modified_data: ModifiedDataOption = False) -> None:
    """Validate a recipe whole, check the data it reads, and print the plan; trains nothing."""
    from .plan import check_sources
    from .run.api import plan_recipe

    registry = _registry()
    plan = plan_recipe(recipe, set_, quick=quick, registry=registry)
    check_sources(plan, registry, allow_modified=allow_modified_data, source=str(recipe))
    out.print(f"[green]{escape(str(recipe))}: valid[/green]")
    for line in plan.describe():
        out.print("  " + escape(line))


@app.command()
def run(recipe: Path, set_: SetOption = None, quick: QuickOption = False,
        allow_modified_data: ModifiedDataOption = False) -> None:
    """Run a recipe in a new run directory: train, sample, filter, predict, rank, report."""
    from .run.api import run_recipe

    started: list[Path] = []

    def show_plan(run_dir, plan) -> None:
        started.append(run_dir.path)
        err.print(f"run directory: [bold]{escape(str(run_dir.path))}[/bold]")
        for line in plan.describe():
            err.print("  " + escape(line))

    try:
        result = run_recipe(recipe, set_, quick=quick, registry=_registry(), console=err, on_start=show_plan,
                            allow_modified_data=allow_modified_data)
    except KeyboardInterrupt:
        raise _interrupted(started[0] if started else None) from None
    _summary(result)


def _interrupted(run_dir: Path | None) -> Interrupted:
    """The error for Ctrl-C during a run: the run directory keeps what was computed, resume goes on."""
    if run_dir is None:
        return Interrupted("interrupted before a run directory was created")
    return Interrupted(f"interrupted; the run directory {run_dir} keeps what was computed",
                       hint=f"`sctk resume {run_dir}` continues from there")


@app.command()
def resume(run_dir: Path) -> None:
    """Continue a run that stopped: finished steps are loaded, training resumes from its checkpoint."""
    from .run.api import resume_run

    err.print(f"resuming [bold]{escape(str(run_dir))}[/bold]")
    try:
        result = resume_run(run_dir, registry=_registry(), console=err)
    except KeyboardInterrupt:
        raise _interrupted(run_dir) from None
    _summary(result)


@app.command()
def evaluate(
    run_dir: Path,
    n_samples: Annotated[int, typer.Option(help="fresh samples to draw from the run's generator")] = 100_000,
    classifier: Annotated[str | None, typer.Option(help="predictor for the superconductor fraction")] = None,
    regressor: Annotated[str | None, typer.Option(help="predictor for the Tc distribution")] = None,
    embedding: Annotated[str, typer.Option(help="tsne, pca or none")] = "tsne",
) -> None:
    """Evaluate a run's generator the papers' way; results go to the run's metrics and report."""
    from .run.api import open_run

    opened = open_run(run_dir, registry=_registry())
    result = opened.evaluate(n_samples, classifier=classifier, regressor=regressor, embedding=embedding)
    table = Table(title=f"evaluation of {n_samples} samples")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result["metrics"].items():
        if isinstance(value, dict) and isinstance(value.get("value"), (int, float)):
            table.add_row(key, f"{value['value']:.4g}")
    out.print(table)
    out.print(f"report: {escape(str(opened.report()))}")


@app.command()
def report(run_dir: Path) -> None:
    """(Re)write a run's self-contained report.html."""
    from .run.api import open_run

    out.print(f"report: {escape(str(open_run(run_dir, registry=_registry()).report()))}")


@app.command()
def predict(
    run_dir: Path,
    formulas: Annotated[list[str] | None, typer.Argument(help="formulas to predict")] = None,
    input_file: Annotated[Path | None, typer.Option("--input", help="CSV with a 'formula' (or 'cif') column")] = None,
    cif: Annotated[list[Path] | None, typer.Option("--cif", help="CIF file(s) for structure predictors")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="write the predictions to this CSV")] = None,
    predictor: Annotated[list[str] | None, typer.Option("--predictor", help="only these saved predictors")] = None,
) -> None:
    """Predict Tc, its std and class probabilities with the predictors saved in a run (alpha2F
    predictors also give lambda and omega_log, each with its ensemble std). RUN_DIR may also name a
    model shipped with the package: supercon-tc (Tc with its interval, P(Tc > 10 K), P(superconductor)),
    formation-energy (eV/atom, with its interval and the distance to the hull of known phases)."""
    from .pretrained import pretrained_path, pretrained_record
    from .run.api import open_run
    from .run.predict import read_inputs

    note = None
    if not run_dir.exists() and pretrained_path(str(run_dir)) is not None:
        note = pretrained_record(str(run_dir)).get("note")
        run_dir = pretrained_path(str(run_dir))

    if output is not None:
        if output.is_dir():
            raise UserError(f"--output {output} is a folder", hint="give the path of a CSV file to write")
        if not output.parent.is_dir():
            raise UserError(f"--output {output}: the folder {output.parent} does not exist",
                            hint="create the folder first, or write elsewhere")
    opened = open_run(run_dir, registry=_registry())
    table = opened.predict(read_inputs(formulas or [], input_file, cif or []), predictor)
    for i, row in table[table["error"] != ""].iterrows():
        source = row.get("source")
        what = source if isinstance(source, str) and source else repr(row["formula"])
        err.print(f"[yellow]row {i}:[/yellow] {escape(what)}: {escape(str(row['error']))} (not predicted)",
                  highlight=False)
    shown = table.drop(columns=[c for c in ("cif",) if c in table.columns])
    if output:
        shown.to_csv(output, index=False)
        err.print(f"{int((table['error'] == '').sum())} of {len(table)} rows predicted -> {escape(str(output))}")
    else:
        shown = _moments_with_spread(shown)
        out.print(_results_table(shown, [c for c in shown.columns if c not in _detail_columns(shown)], None))
        _domain_note(shown)
    if note:  # a shipped model's units and what its columns mean
        err.print(escape(note), highlight=False)


def _moments_with_spread(table: pd.DataFrame) -> pd.DataFrame:
    """The spectral moments of alpha2F predictors (``<name>_lambda``, ``<name>_omega_log`` in K) as
    one 'value ± ensemble std' column each, for the terminal."""
    import pandas as pd

    from .run.predict import MOMENT_COLUMNS

    table = table.copy()
    for column in [c for c in table.columns if c.endswith(tuple(f"_{m}" for m in MOMENT_COLUMNS))]:
        spread = f"{column}_std"
        if spread not in table.columns:
            continue
        merged = [f"{v:.2f} ± {s:.2f}" if pd.notna(v) else "" for v, s in zip(table[column], table[spread])]
        table.insert(table.columns.get_loc(column), f"{column} ± std", merged)
        table = table.drop(columns=[column, spread])
    return table


@app.command()
def screen(
    run_dir: Path,
    input_file: Annotated[Path | None, typer.Option("--input", help="CSV or Parquet file with a 'formula' column, any size")] = None,
    samples: Annotated[int | None, typer.Option("--samples", min=1, help="screen this many fresh samples of the run's "
                                                "generator instead of --input")] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the first batch of --samples")] = 0,
    elements: Annotated[str | None, typer.Option("--elements", help="screen every composition of these elements "
                                                 "(comma-separated) instead of --input")] = None,
    max_amount: Annotated[int, typer.Option("--max-amount", help="largest integer amount of an element (--elements)")] = 6,
    min_elements: Annotated[int, typer.Option("--min-elements", help="fewest elements per composition (--elements)")] = 1,
    max_elements: Annotated[int | None, typer.Option("--max-elements", help="most elements per composition (--elements)")] = None,
    executor: Annotated[str | None, typer.Option("--executor", help="'local' or 'ray' (default: the run's recipe)")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="candidates per batch (default: the run's recipe)")] = None,
) -> None:
    """Screen candidates with a finished run's filters, predictors and ranking, streaming: a file of
    formulas, an enumerated composition space or fresh samples of its generator, of any size. Writes
    RUN_DIR/screens/<name>-<time>/."""
    from .run.api import open_run
    from .run.directory import RunDir
    from .run.screening import file_candidates, generated_candidates, screen_with_run, space_candidates
    from .run.space import check_space, space_formulas, space_size

    if sum(x is not None for x in (input_file, elements, samples)) != 1:
        raise UserError("give one of --input FILE, --elements or --samples",
                        hint="e.g. --input candidates.csv, --elements Y,Ba,Cu,O or --samples 1000000")
    if executor not in (None, "local", "ray"):
        raise UserError(f"--executor {executor}: unknown executor", hint="use 'local' or 'ray'")
    opened = open_run(run_dir, registry=_registry())
    size = batch_size or opened.recipe.get("run", {}).get("batch_size", 50_000)
    if input_file is not None:
        candidates, name = file_candidates(input_file, size), input_file.stem
    elif samples is not None:
        candidates, name = generated_candidates(opened.run_dir, opened.registry, samples, size, seed), "samples"
    else:
        symbols = [e.strip() for e in elements.split(",") if e.strip()]
        top = check_space(symbols, max_amount, min_elements, max_elements)
        err.print(f"composition space: at most {space_size(len(symbols), max_amount, min_elements, top):,} "
                  f"compositions of {', '.join(symbols)}")
        candidates = space_candidates(space_formulas(symbols, max_amount, min_elements, top), size)
        name = "space-" + "".join(symbols)
    output = RunDir.create(opened.path / "screens", name)
    result = screen_with_run(opened.run_dir, candidates, opened.registry, output, executor=executor, batch_size=size)
    counts = result.counts
    line = f"screened {counts['candidates']:,}"
    for label, c in counts["filters"].items():
        line += f" -> {label} {c['kept']:,}"
    out.print(escape(line + f" -> accepted {counts['accepted']:,}"))
    if len(result.accepted):
        plan_rank = opened.recipe.get("rank", {})
        out.print(_candidates_table(result.accepted, plan_rank.get("top", 10)))
    out.print(f"screened into: [bold]{escape(str(output.path))}[/bold]")


def _percent(value: float) -> str:
    """A share as a percentage with two significant digits below 1 % (0.02%), one decimal above."""
    return f"{value:.1%}" if value == 0 or value >= 0.01 else f"{value * 100:.2g}%"


def _of_compositions(evaluation: dict, key: str, size: str | None) -> str:
    """' of N' with the number of compositions a recovery rate is a share of, when recorded: a rate
    of 0 % of 2 held-out compositions says something else than 0 % of 400."""
    n = evaluation.get(key, {}).get(size) if size else None
    return f" of {n:,}" if isinstance(n, int) else ""


def _evaluation_line(evaluation: dict) -> str:
    """The headline figures of ``sctk evaluate``'s metrics, the three readings of Lim's recovery as
    exact / near (each of the number of compositions it counts); figures a run did not compute are
    left out."""

    def value(key: str, field: str | None = None):
        entry = evaluation.get(key, {})
        entry = entry.get(field, {}) if field else entry
        number = entry.get("value") if isinstance(entry, dict) else None
        return number if isinstance(number, (int, float)) else None

    at_5k = evaluation.get("uniqueness_by_n", {}).get("values", {}).get("5000")
    parts = []
    for label, key in (("SMACT-valid", "smact_valid"), ("unique", "uniqueness"), ("novel vs SuperCon", "novelty_supercon"),
                       ("predicted superconductors", "predicted_superconductor")):
        if value(key) is not None:
            first_5k = f" ({at_5k:.2%} of the first 5,000)" if key == "uniqueness" and at_5k is not None else ""
            parts.append(f"{label} {_percent(value(key))}{first_5k}")
    rho = evaluation.get("predicted_superconductor", {}).get("rho")
    if rho is not None:
        parts.append(f"rho {_percent(rho)}")
    readings = [f"{label} {_percent(value(key))} / {_percent(value(key, 'near'))}"
                f"{_of_compositions(evaluation, key, size)}"
                for label, key, size in (("held-out", "recovery", "n_held_out"),
                                         ("training", "recovery_training", "n_training_compositions"),
                                         ("known samples", "known_share", None))
                if value(key) is not None and value(key, "near") is not None]
    if readings:
        parts.append("recovery exact / near: " + ", ".join(readings))
    return ", ".join(parts)


def _summary(run: Run) -> None:
    """The run's hold-out tables, filter counts, evaluation line, top candidates and directory."""
    metrics = run.metrics
    for name, report in metrics.get("predictors", {}).items():
        if "model" not in report:
            continue
        table = Table(title=escape(f"predictor {name}: hold-out ({report['split']}; n_test={report['n_test']})"))
        keys = list(report["model"])
        table.add_column("model")
        for key in keys:
            table.add_column(key, justify="right")
        for label, values in report.items():
            if isinstance(values, dict) and set(keys) <= set(values):
                table.add_row(escape(label), *(f"{values[k]:.3f}" for k in keys))
        out.print(table)
    generation = metrics.get("generation")
    if generation:
        line = f"sampled {generation['n_samples']}, decoded {generation['decoded']}"
        for label, c in generation.get("filters", {}).items():
            line += f" -> {label} {c['kept']}"
        out.print(escape(line + f" -> accepted {generation.get('accepted', 0)}"))
    evaluation = metrics.get("evaluation", {}).get("metrics")
    if evaluation:
        out.print(escape(f"evaluation of {metrics['evaluation']['n_samples']} fresh samples: {_evaluation_line(evaluation)}"))
    accepted = run.candidates
    if accepted is not None and len(accepted):
        top = run.plan.rank.top if run.plan and run.plan.rank else 10
        out.print(_candidates_table(accepted, top))
        _domain_note(accepted.head(top))
    structures = run.structures
    if structures is not None and len(structures):
        out.print(_structures_table(structures, run.metrics.get("structures", {})))
    out.print(f"run directory: [bold]{escape(str(run.path))}[/bold]")


#: Suffixes and names of the prediction columns the terminal shows (the CSV files keep every column).
_SHOWN = ("_pred", "_std", "_proba", "_lo", "_hi")


def _detail_columns(table: pd.DataFrame) -> list[str]:
    """Columns left out of a terminal table: per-predictor domain columns when the combined
    ``in_domain`` is there, and distances."""
    detail = [c for c in table.columns if c.endswith("_domain_distance")]
    if "in_domain" in table.columns:
        detail += [c for c in table.columns if c.endswith("_in_domain")]
    return detail


def _results_table(table: pd.DataFrame, columns: list[str], title: str | None) -> Table:
    """``columns`` of ``table`` as a terminal table; a row outside the models' applicability domain
    (``in_domain`` False) is shown in yellow with a '!' after its formula."""
    grid = Table(title=title)
    for column in columns:
        formula = column in ("formula", "reduced_formula")
        grid.add_column(escape(str(column)), overflow="fold" if formula else "ellipsis",
                        justify="left" if formula or column == "error" else "right")
    outside = table["in_domain"].astype("boolean").eq(False).fillna(False) if "in_domain" in table.columns else None
    for i, row in table.iterrows():
        foreign = outside is not None and bool(outside.loc[i])
        cells = [f"{row[c]:.2f}" if isinstance(row[c], float) else escape(str(row[c])) for c in columns]
        if foreign:
            cells = [cell + " !" if c in ("formula", "reduced_formula") else cell for c, cell in zip(columns, cells)]
        grid.add_row(*cells, style="yellow" if foreign else None)
    return grid


def _domain_note(table: pd.DataFrame) -> None:
    if "in_domain" in table.columns and table["in_domain"].astype("boolean").eq(False).any():
        err.print("[yellow]![/yellow] outside the applicability domain of the models (in_domain = False): "
                  "the predictions are extrapolations", highlight=False)


def _candidates_table(accepted: pd.DataFrame, top: int) -> Table:
    """The first ``top`` ranked candidates: formula and every prediction column. A formula too long
    for the terminal wraps inside its cell instead of being cut: it is the result."""
    columns = ["rank", "reduced_formula"] + [c for c in accepted.columns
                                            if c.endswith(_SHOWN) or c.startswith("expected_") or c == "in_domain"]
    return _results_table(accepted.head(top), columns,
                          f"top {min(top, len(accepted))} of {len(accepted)} accepted candidates")


@app.command()
def structures(
    formulas: Annotated[list[str], typer.Argument(help="formulas to give crystal structures, e.g. NbN MgB2")],
    k: Annotated[int, typer.Option("-k", min=1, help="structures per formula")] = 5,
    generator: Annotated[str, typer.Option("--generator", help="registered structure generator")] = "prototype",
    relax: Annotated[bool, typer.Option("--relax", help="relax each structure (energy per atom)")] = False,
    relaxer: Annotated[str, typer.Option("--relaxer", help="registered relaxer used by --relax")] = "chgnet",
    dataset: Annotated[list[str] | None, typer.Option("--dataset", help="structure dataset to fit on "
                                                      "(repeatable; default: every one found here)")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="folder the CIFs are written to")] = Path("structures"),
    seed: Annotated[int, typer.Option("--seed", help="random seed of the generator")] = 0,
) -> None:
    """Crystal structures for formulas: k CIFs per formula (partial occupancies kept) from a structure
    generator fitted on the catalog's structure datasets (fitted once, then read from the user cache),
    optionally relaxed; prints template, space group, volume per atom and energy."""
    from .run.structure_section import available_structure_datasets, catalog_generator, structures_for

    registry = _registry()
    if dataset:
        names = dataset
        for name in names:
            registry.dataset(name)  # UserError naming the closest
    else:
        names, missing = available_structure_datasets(registry)
        if missing:
            err.print(escape(f"structure datasets not found here, left out: {', '.join(missing)} "
                             "(`sctk data fetch NAME`)"), highlight=False)
        if not names:
            raise UserError("no structure dataset found here", hint="`sctk data fetch supercon3d`, or set SCTK_DATA_DIR")
    runner = registry.entry("relaxer", relaxer).cls() if relax else None
    err.print(escape(f"fitting {generator} on {', '.join(names)} (cached after the first time)"), highlight=False)
    fitted = catalog_generator(registry, generator, names)
    table = structures_for(formulas, fitted, k, out_dir, relaxer=runner, seed=seed)
    columns = ["formula", "rank_in_composition", "source", "space_group", "volume_per_atom"]
    columns += ["energy_per_atom", "rejected"] if relax else []
    renamed = {"rank_in_composition": "#", "volume_per_atom": "A^3/atom", "energy_per_atom": "eV/atom"}
    out.print(_results_table(table.rename(columns=renamed), ["file"] + [renamed.get(c, c) for c in columns], None))
    err.print(escape(f"{int((table['file'] != '').sum())} CIFs written to {out_dir}"), highlight=False)


def _structures_table(ranked: pd.DataFrame, counts: dict, top: int = 10) -> Table:
    """The best-ranked structures: id (its CIF is structures/<id>.cif), space group, energy and
    every score; the title counts the proposed, relaxed and ranked structures."""
    columns = ["rank", "structure_id", "space_group", "energy_per_atom"]
    columns += [c for c in ranked.columns if c.endswith(("_pred", "_std", "_lambda", "_omega_log"))
                and not c.endswith(("_lambda_std", "_omega_log_std"))]
    title = (f"top {min(top, len(ranked))} of {len(ranked)} ranked structures ({counts.get('structures', '?')} proposed "
             f"for {counts.get('compositions', '?')} compositions, {counts.get('relaxed', '?')} relaxed)")
    return _results_table(ranked.head(top), columns, title)


@app.command("list-plugins")
def list_plugins(as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Every component by kind, with its plugin, version and status; plugins that failed to load."""
    registry = _registry()
    rows = [{"kind": e.kind, "name": e.name, "plugin": e.plugin, "version": e.version, "status": e.status,
             "summary": e.cls.summary()} for e in registry.entries()]
    failures = [{"plugin": f.plugin, "error": f.error} for f in registry.failures]
    if as_json:
        out.print_json(json.dumps({"components": rows, "failures": failures, "datasets": sorted(registry.datasets)}))
        return
    table = Table(title="components")
    for column in ("kind", "name", "plugin", "version", "status", "summary"):
        table.add_column(column)
    for row in rows:
        status = escape(row["status"]) if row["status"] == "ok" else f"[yellow]{escape(row['status'])}[/yellow]"
        table.add_row(*(escape(row[c]) for c in ("kind", "name", "plugin", "version")), status, escape(row["summary"]))
    out.print(table)
    if failures:
        table = Table(title="plugins that failed to load")
        table.add_column("plugin")
        table.add_column("error", style="red")
        for failure in failures:
            table.add_row(escape(failure["plugin"]), escape(failure["error"]))
        out.print(table)


@app.command()
def describe(name: str) -> None:
    """Parameters of a component, or the keys of a recipe section ('predictors', 'rank', ...):
    types, defaults and descriptions."""
    from .components import field_rows
    from .errors import did_you_mean
    from .recipe import SECTIONS

    section = name.strip("[]")
    if section in SECTIONS:
        table = Table(title=escape(f"recipe section [{section}]"))
        for column in ("key", "type", "default", "description"):
            table.add_column(column)
        for row in field_rows(SECTIONS[section]):
            table.add_row(*map(escape, row))
        out.print(table)
        return
    registry = _registry()
    entries = registry.find(name)
    if not entries:
        raise UserError(f"no component or recipe section named '{name}'",
                        hint=did_you_mean(name, [e.name for e in registry.entries()] + list(SECTIONS))
                        or "see `sctk list-plugins`")
    for entry in entries:
        cls = entry.cls
        out.print(f"[bold]{escape(entry.name)}[/bold] "
                  + escape(f"({entry.kind}, plugin {entry.plugin} {entry.version}, {entry.status})"))
        out.print(escape((cls.__doc__ or "").strip()))
        table = Table(title="parameters")
        for column in ("name", "type", "default", "description"):
            table.add_column(column)
        for row in cls.parameters():
            table.add_row(*map(escape, row))
        out.print(table)
        if cls.quick:
            out.print(escape("--quick sets: " + ", ".join(f"{k}={v!r}" for k, v in cls.quick.items())))


@data_app.command("list")
def data_list() -> None:
    """Registered datasets: where each is found, licence, citation."""
    from .data import locate
    from .errors import DataError

    table = Table(title="datasets")
    for column in ("name", "kind", "files", "found in", "licence"):
        table.add_column(column)
    for name, dataset in sorted(_registry().datasets.items()):
        try:
            where = escape(str(locate(dataset)))
        except DataError:
            where = "[yellow]not here: sctk data fetch " + escape(name) + "[/yellow]"
        table.add_row(escape(name), escape(dataset.kind), str(len(dataset.files)), where, escape(dataset.licence))
    out.print(table)


@data_app.command("fetch")
def data_fetch(names: list[str], force: Annotated[bool, typer.Option(help="download again")] = False) -> None:
    """Download datasets from their public sources into the cache, checking sha256."""
    from .data import fetch

    registry = _registry()
    for name in names:
        path = fetch(registry.dataset(name), force=force)
        out.print(escape(f"{name}: {path}"))


@data_app.command("verify")
def data_verify(names: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    """Check the sha256 of every file of the named (default: all) datasets."""
    from .data import verify

    registry = _registry()
    bad = 0
    for name in names or sorted(registry.datasets):
        for status in verify(registry.dataset(name)):
            ok = status.ok
            bad += not ok
            mark = "[green]ok[/green]" if ok else f"[red]{status.status}[/red]"
            out.print(f"{mark} " + escape(f"{name}/{status.name} {status.path or ''}"))
    if bad:
        raise UserError(f"{bad} file(s) missing or corrupt", hint="run `sctk data fetch NAME --force`")


def _drop_warning(*args, **kwargs) -> None:
    """A ``warnings.showwarning`` that shows nothing."""


def _error(text: str) -> None:
    """Print one error line; ``text`` is shown as written (never read as rich markup)."""
    err.print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: expected errors become one line on stderr with exit code 2 (input) or 1 (step);
    Ctrl-C prints "interrupted" and exits with 130."""
    # Idle OpenMP threads (LightGBM, XGBoost, torch) sleep instead of spinning, which otherwise
    # starves the other threads on a small or shared machine.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    debug = "--debug" in sys.argv
    if not debug:  # third-party warnings are noise here; a run logs them in its run.log
        warnings.showwarning = _drop_warning
    try:
        # Not standalone: errors reach the handlers below; Ctrl-C outside a run comes back as 130.
        code = app(standalone_mode=False)
    except Interrupted as error:
        err.print(escape(error.one_line()), highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except RecipeError as error:
        if debug:
            raise
        for line in error.lines():
            _error(line)
        _error(error.one_line())
        sys.exit(error.exit_code)
    except SctkError as error:
        if debug:
            raise
        _error(error.one_line())
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.Exit as error:
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.exit(1)
    except typer.TyperException as error:
        # A command-line usage error (unknown option, missing argument, bad value) from the Click
        # that typer vendors: one line with the command's --help as the hint, exit code 2. A bare
        # `sctk` or `sctk data` has already printed its help and carries no message.
        if debug:
            raise
        message = error.format_message()
        if message:
            context = getattr(error, "ctx", None)
            command = context.command_path if context is not None else "sctk"
            _error(f"{message} (hint: '{command} --help' lists the arguments and options)")
        sys.exit(2)
    except OSError as error:
        # A file the user named (an input, an --output, a folder) that cannot be read or written;
        # failures inside a run's steps arrive as StepError with exit code 1.
        if debug:
            raise
        message, hint = os_problem(error)
        _error(f"{message} (hint: {hint})")
        sys.exit(2)
    except Exception as error:
        if debug:
            raise
        _error(f"unexpected {type(error).__name__}: {error} (hint: rerun with --debug and report the traceback)")
        sys.exit(1)
    if code == 130:
        err.print("interrupted")
    sys.exit(code if isinstance(code, int) else 0)
