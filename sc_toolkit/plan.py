"""Validate a recipe whole against the registered components and turn it into a plan.

Validation happens before any data is read or model trained, and reports every problem at once
with its location (``generator.params.epochs``) and, where it can, a "did you mean": first the
structure of each section, then each component's own ``Params``, then the compatibility between
steps (an invertible encoder before a generator, columns that a filter or the ranking needs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pydantic

from .components import Component, Params
from .data import load
from .errors import PluginError, Problem, RecipeError, UserError, did_you_mean
from .recipe import (
    REQUIRED_SECTIONS,
    SECTIONS,
    CandidatesSection,
    ComponentRef,
    EvaluateSection,
    DataSection,
    FilterStep,
    GeneratorSection,
    PredictorSection,
    QuickSection,
    RankSection,
    RunSection,
    StructuresSection,
    apply_quick,
    overridden,
)
from .registry import ComponentEntry, Registry
from .run.directory import GENERATOR, PREDICTORS, RunDir
from .run.predict import IN_DOMAIN_COLUMN, expected_column, output_columns
from .run.tables import read_user_csv

#: Columns of the structures table that no predictor adds (see :mod:`sc_toolkit.run.structure_section`).
STRUCTURE_COLUMNS = {"energy_per_atom", "volume_per_atom", "n_sites"}
#: Columns every candidate row has before any prediction.
CANDIDATE_COLUMNS = ("sample", "formula", "reduced_formula", "composition_key", "n_elements")


@dataclass
class Step:
    """One use of a component: where it is in the recipe, what it is, its validated parameters."""

    where: str
    entry: ComponentEntry
    params: Params
    label: str
    #: The recipe's reference to the component (``name`` or ``plugin:name``; default the name).
    use: str = ""

    def build(self) -> Component:
        return self.entry.cls(self.params)

    def describe(self) -> str:
        changed = self.params.model_dump(exclude_defaults=True)
        shown = ", ".join(f"{k}={v}" for k, v in changed.items())
        return f"{self.entry.name}" + (f" ({shown})" if shown else "")


@dataclass
class PredictorPlan:
    section: PredictorSection
    step: Step
    encoder: Step
    filters: list[Step] = field(default_factory=list)

    @property
    def task(self) -> str:
        return getattr(self.step.params, "task", "regression")

    def outputs(self) -> list[str]:
        """Every column this predictor adds to a candidate table, its derived columns included."""
        s = self.section
        columns = output_columns(s.name, self.task, self.step.entry.cls.supports_std, interval=s.interval is not None,
                                 domain=s.domain, hull=bool(s.hull),
                                 moments=self.task == "regression" and hasattr(self.step.entry.cls, "predict_moments"))
        return columns + ([expected_column(s.name)] if s.expected else []) + ([IN_DOMAIN_COLUMN] if s.domain else [])


@dataclass
class StructuresPlan:
    """``[structures]`` validated: the structure generator, the relaxer (None without one) and the
    predictors (of the recipe's [[predictors]], each with a structure encoder) that score the structures."""

    section: StructuresSection
    generator: Step
    relaxer: Step | None
    predictors: list[str]

    @property
    def rank_by(self) -> str | None:
        """The column ranking the structures: ``rank_by``, else the first predictor's prediction."""
        return self.section.rank_by or (f"{self.predictors[0]}_pred" if self.predictors else None)

    def describe(self) -> list[str]:
        s = self.section
        source = f"the formulas of {s.path}" if s.path else f"the top {s.top} accepted candidates"
        lines = [f"structures {s.k} per composition for {source}: {self.generator.describe()} "
                 f"fitted on {', '.join(s.datasets)}"]
        if self.relaxer:
            lines.append(f"relax     {self.relaxer.describe()} (rejected structures kept with their reason)")
        if self.predictors:
            order = "descending" if s.descending else "ascending"
            lines.append(f"score     structures with {', '.join(self.predictors)}; rank by {self.rank_by} ({order})")
        return lines


@dataclass
class Plan:
    """A validated recipe: what will run, in order, with every parameter resolved."""

    recipe: dict[str, Any]
    run: RunSection
    data: DataSection
    data_filters: list[Step]
    generator: GeneratorSection | None = None
    generator_step: Step | None = None
    generator_encoder: Step | None = None
    generator_filters: list[Step] = field(default_factory=list)
    predictors: list[PredictorPlan] = field(default_factory=list)
    filters: list[Step] = field(default_factory=list)
    predict_before: int = 0
    rank: RankSection | None = None
    quick: QuickSection | None = None
    candidates: CandidatesSection | None = None
    evaluate: EvaluateSection | None = None
    structures: StructuresPlan | None = None

    @property
    def candidate_predictors(self) -> list[PredictorPlan]:
        """The predictors that score the candidates: all but those ``[structures]`` scores structures with."""
        scoring = set(self.structures.predictors) if self.structures else set()
        return [p for p in self.predictors if p.section.name not in scoring]

    @property
    def evaluation_samples(self) -> int:
        n = self.evaluate.n_samples
        return min(n, self.quick.n_samples) if self.quick else n

    @property
    def screens(self) -> bool:
        """True when the run has candidates to filter, score and rank."""
        return self.generator_step is not None or self.candidates is not None

    def resolved_recipe(self) -> dict[str, Any]:
        """The recipe with every component's parameters filled in: re-runnable as it stands."""
        out: dict[str, Any] = {"run": _drop_none(self.run.model_dump())}
        out["data"] = _drop_none(self.data.model_dump() | {"filters": [_ref(s) for s in self.data_filters]})
        if self.generator:
            out["generator"] = _drop_none(
                self.generator.model_dump()
                | _ref(self.generator_step)
                | {"encoder": _ref(self.generator_encoder), "filters": [_ref(f) for f in self.generator_filters]}
            )
        if self.candidates:
            out["candidates"] = _drop_none(self.candidates.model_dump())
        if self.predictors:
            out["predictors"] = [
                _drop_none(p.section.model_dump()) if p.section.from_run
                else _drop_none(p.section.model_dump() | _ref(p.step) | {"encoder": _ref(p.encoder),
                                                                          "filters": [_ref(f) for f in p.filters]})
                for p in self.predictors
            ]
        if self.filters:
            out["filters"] = [_ref(s) | {"name": s.label} for s in self.filters]
        if self.rank:
            out["rank"] = _drop_none(self.rank.model_dump())
        if self.evaluate:
            out["evaluate"] = _drop_none(self.evaluate.model_dump())
        if self.structures:
            structures = self.structures
            out["structures"] = _drop_none(structures.section.model_dump() | {"generator": _ref(structures.generator)}
                                           | ({"relaxer": _ref(structures.relaxer)} if structures.relaxer else {}))
        return out

    def describe(self) -> list[str]:
        """The plan as numbered lines, for ``sctk check`` and the run log."""
        lines = []
        source = f"dataset '{self.data.dataset}'" if self.data.dataset else f"file {self.data.path}"
        selection = ", ".join(s.describe() for s in self.data_filters)
        lines.append(f"load      {source}" + (f"; keep rows passing {selection}" if selection else ""))
        if self.quick:
            samples = f", {self.quick.n_samples} samples" if self.generator_step else ""
            lines.append(f"quick     at most {self.quick.rows} training rows{samples}")
        if self.generator_step:
            g = self.generator
            lines.append(f"encode    {self.generator_encoder.describe()} (invertible)")
            cond = f", label column '{g.label}'" if g.label else ""
            start = f", starting from {self.generator.init_from}" if self.generator.init_from else ""
            rows = ("; on rows passing " + ", ".join(f.describe() for f in self.generator_filters)
                    if self.generator_filters else "")
            lines.append(f"train     {self.generator_step.describe()}{cond}{start}{rows}")
            n = self.quick.n_samples if self.quick else g.n_samples
            lines.append(f"sample    {n} compositions" + (f" of class '{g.condition}'" if g.condition else ""))
        if self.candidates:
            source = self.candidates.dataset or self.candidates.path
            lines.append(f"screen    candidates from {'dataset ' if self.candidates.dataset else 'file '}'{source}'")
        for p in self.predictors:
            if p.section.from_run:
                lines.append(f"load      predictor '{p.section.name}' ({p.step.entry.name} on {p.encoder.entry.name}) "
                             f"from {p.section.from_run} -> {', '.join(p.outputs())}")
                continue
            target = f"{p.section.target} > {p.section.threshold}" if p.section.threshold is not None else str(p.section.target)
            if p.section.dataset:
                target += f"; trained on dataset '{p.section.dataset}'"
            if p.filters:
                target += "; trained on rows passing " + ", ".join(f.describe() for f in p.filters)
            if p.section.rows:
                target += f"; a seeded sample of at most {p.section.rows} rows"
            if p.section.negatives:
                target += f"; negatives from '{p.section.negatives}'"
            if p.section.hull:
                target += "; hull of " + ", ".join(p.section.hull)
            lines.append(
                f"fit       {p.step.describe()} on {p.encoder.describe()} -> {', '.join(p.outputs())} "
                f"(target {target}; {p.section.holdout:.0%} of composition groups held out for metrics)"
            )
        scoring = self.candidate_predictors
        for i, step in enumerate(self.filters):
            if i == self.predict_before and scoring and self.screens:
                lines.append("predict   candidates with " + ", ".join(p.section.name for p in scoring))
            label = "" if step.label == step.entry.name else f"{step.label}: "
            lines.append(f"filter    {label}{step.describe()}")
        if self.predict_before == len(self.filters) and scoring and self.screens:
            lines.append("predict   candidates with " + ", ".join(p.section.name for p in scoring))
        if self.rank:
            order = "descending" if self.rank.descending else "ascending"
            lines.append(f"rank      by {self.rank.by} ({order}), show top {self.rank.top}")
        if self.evaluate:
            lines.append(f"evaluate  {self.evaluation_samples} fresh samples: validity, uniqueness, novelty, "
                         "predicted superconductors, classes, recovery, Tc, embedding")
        if self.structures:
            lines += self.structures.describe()
        lines.append("report    report.html")
        return [f"{i + 1}. {line}" for i, line in enumerate(lines)]


def _ref(step: Step) -> dict[str, Any]:
    return {"use": step.use or step.entry.name, "params": _drop_none(step.params.model_dump(mode="json"))}


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (_drop_none(v) if isinstance(v, dict) else v) for k, v in data.items() if v is not None}


class _Validator:
    def __init__(self, registry: Registry, quick: bool, kept: list[str]):
        self.registry = registry
        self.quick = quick
        #: Dotted keys the components' quick values leave alone: --set overrides and [quick].set.
        self.kept = kept
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(where, message, hint))

    def section(self, raw: dict[str, Any], key: str, model: type[pydantic.BaseModel], where: str):
        try:
            return model(**raw)
        except pydantic.ValidationError as error:
            self.pydantic_problems(error, where, model)
        except TypeError:
            self.problem(where, f"'{key}' must be a table")
        return None

    def pydantic_problems(self, error: pydantic.ValidationError, where: str, model) -> None:
        for item in error.errors():
            loc = ".".join(str(p) for p in item["loc"])
            path = f"{where}.{loc}" if loc else where
            field_name = str(item["loc"][-1]) if item["loc"] else ""
            if item["type"] == "extra_forbidden":
                self.problem(path, f"unknown key '{field_name}'", did_you_mean(field_name, model.model_fields))
            elif item["type"] == "missing":
                self.problem(path, f"missing required key '{field_name}'", _describe_field(model, item["loc"]))
            else:
                message = item["msg"].removeprefix("Value error, ")
                self.problem(path, f"{message} (got {item.get('input')!r})")

    def step(
        self, ref: ComponentRef, kind: str, where: str, inherited: dict[str, Any], label: str | None = None
    ) -> Step | None:
        try:  # 'name', or 'plugin:name' where several plugins register the name
            entry = self.registry.entry(kind, ref.use)
        except PluginError as error:
            self.problem(f"{where}.use", error.message, error.hint)
            return None
        fields = entry.cls.Params.model_fields
        params = {k: v for k, v in inherited.items() if k in fields} | ref.params
        if self.quick:  # --quick shrinks every step, except values set by --set or [quick].set
            prefix = f"{where}.params."
            params |= {k: v for k, v in entry.cls.quick.items() if not overridden(prefix + k, self.kept)}
        try:
            validated = entry.cls.Params(**params)
        except pydantic.ValidationError as error:
            self.pydantic_problems(error, f"{where}.params", entry.cls.Params)
            return None
        return Step(where, entry, validated, label or entry.name, use=ref.use)


def _describe_field(model, loc) -> str | None:
    info = model.model_fields.get(str(loc[-1])) if len(loc) == 1 else None
    return info.description if info and info.description else None


def make_plan(raw: dict[str, Any], registry: Registry, *, quick: bool = False, source: str | None = None,
              overrides: Sequence[str] = ()) -> Plan:
    """Validate ``raw`` (a parsed recipe, overrides already applied) and return its :class:`Plan`.

    ``overrides``: the dotted keys set explicitly (``--set``). With ``quick``, the recipe is first
    validated as written, then with the quick slice: ``[quick].set`` (applied once), then each
    component's quick values, neither replacing a key in ``overrides``.

    Raises :class:`RecipeError` listing every problem found.
    """
    if quick:
        _build(raw, registry, quick=False, source=source, overrides=())
    return _build(raw, registry, quick=quick, source=source, overrides=overrides)


def _build(raw: dict[str, Any], registry: Registry, *, quick: bool, source: str | None,
           overrides: Sequence[str]) -> Plan:
    quick_set = raw.get("quick", {}).get("set", {}) if isinstance(raw.get("quick"), dict) else {}
    v = _Validator(registry, quick, [*overrides, *(quick_set if isinstance(quick_set, dict) else {})])
    if quick:
        raw = _with_quick(raw, v, overrides)
    _check_section_names(v, raw)
    run = v.section(raw.get("run", {}), "run", RunSection, "run") if "run" in raw else None
    if run and run.executor == "ray" and find_spec("ray") is None:  # before any training
        v.problem("run.executor", "executor 'ray' needs Ray, which is not installed",
                  'install it with `pip install "sc-toolkit[ray]"`, or set run.executor = "local"')
    inherited = {"seed": run.seed, "random_state": run.seed, "device": run.device} if run else {}
    data, data_filters, data_columns = _data_section(v, raw, inherited)
    generator, generator_step, generator_encoder, generator_filters = _generator_section(v, raw, inherited)
    predictors = _predictor_sections(v, raw, inherited, generator, _structure_scorers(raw))
    if data_columns is not None:
        _check_data_columns(v, f"the data file {data.path}", data_columns, data_filters, predictors)
    candidates = _candidates_section(v, raw)
    filters = _filter_sections(v, raw, inherited)
    scorers = set(_structure_scorers(raw))
    rank, predict_before = _rank_section(v, raw, filters, [p for p in predictors if p.section.name not in scorers],
                                         generator_step)
    evaluate = _evaluate_section(v, raw, predictors)
    quick_section = _quick_section(v, raw)
    structures = _structures_section(v, raw, inherited, predictors)
    if v.problems:
        raise RecipeError(v.problems, source=source)
    return Plan(raw, run, data, data_filters, generator, generator_step, generator_encoder, generator_filters,
                predictors, filters, predict_before, rank, quick_section, candidates, evaluate, structures)


def _check_section_names(v: _Validator, raw: dict[str, Any]) -> None:
    """Problems for each unknown section, then for each required section missing."""
    for key in raw:
        if key not in SECTIONS:
            v.problem(key, f"unknown section '{key}'", did_you_mean(key, SECTIONS))
    for key in REQUIRED_SECTIONS:
        if key not in raw:
            v.problem(key, f"missing section [{key}]", f"add a [{key}] table")


def _data_section(v: _Validator, raw: dict[str, Any], inherited: dict[str, Any]
                  ) -> tuple[DataSection | None, list[Step], set[str] | None]:
    """``[data]``, its filters, and the header of the CSV file it names (None for a dataset or
    without [data]: a dataset is checked by :func:`check_sources` before a run starts)."""
    data = v.section(raw.get("data", {}), "data", DataSection, "data") if "data" in raw else None
    data_filters: list[Step] = []
    if data:
        if (data.dataset is None) == (data.path is None):
            v.problem("data", "give exactly one of 'dataset' or 'path'", "e.g. dataset = \"supercon\"")
        elif data.dataset and data.dataset not in v.registry.datasets:
            v.problem("data.dataset", f"no dataset named '{data.dataset}'",
                      did_you_mean(data.dataset, v.registry.datasets) or "see `sctk data list`")
        for i, ref in enumerate(data.filters):
            step = v.step(ref, "filter", f"data.filters.{i}", inherited, ref.name)
            if step:
                data_filters.append(step)
    data_columns = _csv_columns(v, data.path, "data.path") if data and data.path and data.dataset is None else None
    return data, data_filters, data_columns


def _generator_section(v: _Validator, raw: dict[str, Any], inherited: dict[str, Any]
                       ) -> tuple[GeneratorSection | None, Step | None, Step | None, list[Step | None]]:
    """``[generator]``, its step, its encoder (invertible, reading compositions) and its filters; the
    run it starts from (``init_from``) and its condition are checked. None, and no filters, without
    a valid [generator]."""
    if "generator" not in raw:
        return None, None, None, []
    generator = v.section(raw["generator"], "generator", GeneratorSection, "generator")
    if not generator:
        return None, None, None, []
    step = v.step(ComponentRef(use=generator.use, params=generator.params), "generator", "generator", inherited)
    filters = [v.step(ref, "filter", f"generator.filters.{j}", inherited, ref.name)
               for j, ref in enumerate(generator.filters)]
    encoder = v.step(generator.encoder, "encoder", "generator.encoder", inherited)
    if encoder and not encoder.entry.cls.invertible:
        invertible = [e.name for e in v.registry.entries("encoder") if e.cls.invertible]
        v.problem("generator.encoder.use", f"encoder '{generator.encoder.use}' is not invertible, "
                  "so generated samples could not be decoded into formulas",
                  "use an invertible encoder: " + ", ".join(invertible) if invertible else None)
    if encoder and encoder.entry.cls.consumes != "composition":
        v.problem("generator.encoder.use", f"encoder '{generator.encoder.use}' reads structures; "
                  "composition generators need a composition encoder")
    if generator.init_from and step and encoder:
        _check_init_from(v, generator)
    if step and generator.condition is not None:
        if not step.entry.cls.conditional:
            v.problem("generator.condition", f"generator '{generator.use}' is not conditional",
                      "remove 'condition' or use a conditional generator")
        elif generator.label is None:
            v.problem("generator.condition", "a condition needs the training column of labels",
                      'add label = "class"')
    return generator, step, encoder, filters


def _predictor_sections(v: _Validator, raw: dict[str, Any], inherited: dict[str, Any],
                        generator: GeneratorSection | None, scorers: list[str]) -> list[PredictorPlan]:
    """Each ``[[predictors]]`` entry that validates, trained here or loaded ``from_run``; then the
    links between them (``expected``, a single ``hull``). ``scorers``: the names ``[structures]``
    scores structures with (they score no generated composition)."""
    predictors: list[PredictorPlan] = []
    for i, item in enumerate(_list_section(raw, "predictors", v)):
        section = v.section(item, "predictors", PredictorSection, f"predictors.{i}")
        if section:
            scores_compositions = generator if section.name not in scorers else None
            predictor = _predictor(v, section, f"predictors.{i}", inherited, scores_compositions, predictors)
            if predictor:
                predictors.append(predictor)
    _check_predictor_links(v, predictors)
    return predictors


def _predictor(v: _Validator, section: PredictorSection, where: str, inherited: dict[str, Any],
               generator: GeneratorSection | None, earlier: list[PredictorPlan]) -> PredictorPlan | None:
    """One predictor's plan (None when a part of it does not validate); ``earlier`` are the
    predictors before it, whose names it must not repeat."""
    if section.from_run:
        step, encoder = _saved_steps(v, section, where)
    elif section.use is None or section.encoder is None:
        v.problem(where, "a predictor needs 'use' and 'encoder' (or 'from_run' to load a trained one)",
                  'e.g. use = "lightgbm" and encoder = { use = "magpie" }')
        return None
    else:
        step = v.step(ComponentRef(use=section.use, params=section.params), "predictor", where, inherited)
        encoder = v.step(section.encoder, "encoder", f"{where}.encoder", inherited)
    if section.threshold is not None and len(section.targets) > 1:
        v.problem(f"{where}.threshold", "a threshold needs a single target column", "give target as one column")
    if step and section.threshold is not None and getattr(step.params, "task", None) != "classification":
        v.problem(f"{where}.threshold", "a threshold makes class labels, but the predictor's "
                  "task is not 'classification'", 'set params.task = "classification"')
    if encoder and generator and encoder.entry.cls.consumes != "composition":
        v.problem(f"{where}.encoder.use", f"encoder '{encoder.entry.name}' reads structures, but generated "
                  "candidates are compositions", "use a composition encoder, screen [candidates] with structures, "
                  f"or score [structures] with it: predictors = [\"{section.name}\"]")
    if any(p.section.name == section.name for p in earlier):
        v.problem(f"{where}.name", f"two predictors are named '{section.name}'", "give each predictor its own name")
    if step:
        _check_calibration(v, section, step, where)
    selection = [v.step(ref, "filter", f"{where}.filters.{j}", inherited, ref.name)
                 for j, ref in enumerate(section.filters)]
    return PredictorPlan(section, step, encoder, selection) if step and encoder and all(selection) else None


def _candidates_section(v: _Validator, raw: dict[str, Any]) -> CandidatesSection | None:
    """``[candidates]``: one registered dataset or one readable CSV file, in a recipe without [generator]."""
    if "candidates" not in raw:
        return None
    candidates = v.section(raw["candidates"], "candidates", CandidatesSection, "candidates")
    if candidates and (candidates.dataset is None) == (candidates.path is None):
        v.problem("candidates", "give exactly one of 'dataset' or 'path'", 'e.g. dataset = "bete-net"')
    elif candidates and candidates.dataset and candidates.dataset not in v.registry.datasets:
        v.problem("candidates.dataset", f"no dataset named '{candidates.dataset}'",
                  did_you_mean(candidates.dataset, v.registry.datasets) or "see `sctk data list`")
    elif candidates and candidates.path:
        _csv_columns(v, candidates.path, "candidates.path")
    if "generator" in raw:
        v.problem("candidates", "a recipe screens either generated samples or [candidates], not both",
                  "remove [candidates] or [generator]")
    return candidates


def _filter_sections(v: _Validator, raw: dict[str, Any], inherited: dict[str, Any]) -> list[Step]:
    """Each ``[[filters]]`` step that validates; no two share a label."""
    filters: list[Step] = []
    for i, item in enumerate(_list_section(raw, "filters", v)):
        ref = v.section(item, "filters", FilterStep, f"filters.{i}")
        if ref:
            step = v.step(ref, "filter", f"filters.{i}", inherited, ref.name)
            if step:
                filters.append(step)
    labels = [s.label for s in filters]
    for label in {lab for lab in labels if labels.count(lab) > 1}:
        v.problem("filters", f"two filters are labelled '{label}'", "give one of them a distinct 'name'")
    return filters


def _rank_section(v: _Validator, raw: dict[str, Any], filters: list[Step], predictors: list[PredictorPlan],
                  generator_step: Step | None) -> tuple[RankSection | None, int]:
    """``[rank]`` and the index of the first filter that reads a predicted column. Generated
    candidates have known columns, checked here; a screened table's own are checked when loaded."""
    rank = v.section(raw["rank"], "rank", RankSection, "rank") if "rank" in raw else None
    predict_before = _check_columns(v, filters, predictors, rank, check=generator_step is not None)
    if (filters or rank) and "generator" not in raw and "candidates" not in raw:
        v.problem("filters" if filters else "rank", "filters and ranking act on candidates, but the recipe "
                  "has neither [generator] nor [candidates]", "add one of them, or remove these sections")
    return rank, predict_before


def _evaluate_section(v: _Validator, raw: dict[str, Any], predictors: list[PredictorPlan]) -> EvaluateSection | None:
    """``[evaluate]``, in a recipe with [generator]; the classifier and regressor it names are predictors."""
    evaluate = v.section(raw["evaluate"], "evaluate", EvaluateSection, "evaluate") if "evaluate" in raw else None
    if evaluate and "generator" not in raw:
        v.problem("evaluate", "[evaluate] measures a generator's samples, but the recipe has no [generator]",
                  "remove [evaluate] or add a [generator]")
    names = {p.section.name: p.task for p in predictors}
    for key, task in (("classifier", "classification"), ("regressor", "regression")):
        wanted = getattr(evaluate, key, None) if evaluate else None
        if wanted is not None and names.get(wanted) != task:
            v.problem(f"evaluate.{key}", f"no {task} predictor named '{wanted}'",
                      did_you_mean(wanted, [n for n, t in names.items() if t == task]))
    return evaluate


def _structure_scorers(raw: dict[str, Any]) -> list[str]:
    """The predictor names ``[structures] predictors`` lists (as written; validated by :func:`_structures_section`)."""
    section = raw.get("structures")
    names = section.get("predictors", []) if isinstance(section, dict) else []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _structures_section(v: _Validator, raw: dict[str, Any], inherited: dict[str, Any],
                        predictors: list[PredictorPlan]) -> StructuresPlan | None:
    """``[structures]``: a registered structure generator fitted on registered structure datasets,
    compositions to place (the ranked candidates of a [generator] or [candidates], or a CSV file), an
    optional registered relaxer, and predictors of this recipe with a structure encoder."""
    if "structures" not in raw:
        return None
    section = v.section(raw["structures"], "structures", StructuresSection, "structures")
    if not section:
        return None
    generator = v.step(section.generator, "structure-generator", "structures.generator", inherited)
    relaxer = v.step(section.relaxer, "relaxer", "structures.relaxer", inherited) if section.relaxer else None
    for i, name in enumerate(section.datasets):
        dataset = v.registry.datasets.get(name)
        if dataset is None:
            v.problem(f"structures.datasets.{i}", f"no dataset named '{name}'",
                      did_you_mean(name, v.registry.datasets) or "see `sctk data list`")
        elif dataset.kind != "structure":
            structural = sorted(n for n, d in v.registry.datasets.items() if d.kind == "structure")
            v.problem(f"structures.datasets.{i}", f"dataset '{name}' holds compositions, not crystal structures",
                      "use a structure dataset: " + ", ".join(structural))
    if section.path:
        columns = _csv_columns(v, section.path, "structures.path")
        if columns is not None and "formula" not in columns:
            v.problem("structures.path", f"{section.path} has no 'formula' column",
                      "columns found: " + ", ".join(sorted(columns)))
    elif "generator" not in raw and "candidates" not in raw:
        v.problem("structures", "structures are proposed for the ranked candidates, but the recipe has neither "
                  "[generator] nor [candidates]", 'add one of them, or give path = "formulas.csv"')
    by_name = {p.section.name: p for p in predictors}
    for i, name in enumerate(section.predictors):
        p = by_name.get(name)
        if p is None:
            v.problem(f"structures.predictors.{i}", f"no predictor named '{name}' in [[predictors]]",
                      did_you_mean(name, by_name) or "add a [[predictors]] entry with a structure encoder")
        elif p.encoder.entry.cls.consumes != "structure":
            v.problem(f"structures.predictors.{i}", f"predictor '{name}' reads compositions "
                      f"(encoder '{p.encoder.entry.name}'), not structures",
                      'give a predictor with a structure encoder, e.g. encoder = { use = "crystal-graph" }')
    if len(set(section.predictors)) < len(section.predictors):
        v.problem("structures.predictors", "a predictor is named twice", "name each predictor once")
    scorers = [by_name[n] for n in section.predictors if n in by_name]
    outputs = {c for p in scorers for c in p.outputs()}
    outputs |= STRUCTURE_COLUMNS
    if section.rank_by is not None and section.rank_by not in outputs:
        v.problem("structures.rank_by", f"cannot rank structures by '{section.rank_by}': no step provides that column",
                  did_you_mean(section.rank_by, outputs))
    elif section.rank_by is None and not section.predictors:
        v.problem("structures.rank_by", "nothing to rank the structures by: no predictor scores them",
                  'give predictors = ["..."] or rank_by = "energy_per_atom" with descending = false')
    if generator is None or (section.relaxer and relaxer is None):
        return None
    return StructuresPlan(section, generator, relaxer, list(section.predictors))


def _quick_section(v: _Validator, raw: dict[str, Any]) -> QuickSection | None:
    """The ``[quick]`` slice a --quick plan runs with (the defaults without [quick]); None without
    --quick, though [quick] is validated all the same."""
    section = v.section(raw["quick"], "quick", QuickSection, "quick") if "quick" in raw else QuickSection()
    return section if v.quick else None


def _check_init_from(v: _Validator, generator: GeneratorSection) -> None:
    """The run a generator starts from exists and holds the same generator and encoder."""
    try:
        source = RunDir.resolve(generator.init_from)
    except UserError as error:
        v.problem("generator.init_from", error.message, error.hint)
        return
    for part, use in (("generator", generator.use), ("encoder", generator.encoder.use)):
        wanted = use.rpartition(":")[2]  # a saved component records its bare name, not plugin:name
        try:
            name = source.component_header(f"{GENERATOR}/{part}")["name"]
        except (OSError, ValueError, KeyError):
            v.problem("generator.init_from", f"{source.path} holds no saved generator",
                      "give a run whose recipe trained a generator")
            return
        if name != wanted:
            v.problem("generator.init_from", f"{source.path} holds a '{name}' {part}, but this recipe uses '{wanted}'",
                      f"use {part} '{name}' to continue its training")


def _saved_steps(v: _Validator, section: PredictorSection, where: str) -> tuple[Step | None, Step | None]:
    """Steps describing the predictor ``section.name`` saved in ``section.from_run``."""
    try:
        source = RunDir.resolve(section.from_run)
    except UserError as error:
        v.problem(f"{where}.from_run", error.message, error.hint)
        return None, None
    steps = []
    for part, kind, label in (("predictor", "predictor", where), ("encoder", "encoder", f"{where}.encoder")):
        try:
            header = source.component_header(f"{PREDICTORS}/{section.name}/{part}")
            name, params = header["name"], header["params"]
        except (OSError, ValueError, KeyError):
            v.problem(f"{where}.from_run", f"{section.from_run} holds no saved predictor '{section.name}'",
                      "give a run directory whose recipe trained a predictor of this name")
            return None, None
        if not any(e.kind == kind for e in v.registry.find(name)):
            v.problem(f"{where}.from_run", f"the saved {kind} '{name}' is not registered here",
                      "install the plugin that provides it")
            return None, None
        try:
            entry = v.registry.entry(kind, name)
        except PluginError as error:  # registered by several plugins
            v.problem(f"{where}.from_run", error.message, error.hint)
            return None, None
        steps.append(Step(label, entry, entry.cls.Params(**params), name))
    if section.use and section.use.rpartition(":")[2] != steps[0].entry.name:
        v.problem(f"{where}.use", f"the saved predictor is a '{steps[0].entry.name}', not '{section.use}'",
                  "leave 'use' out when loading with from_run")
    return steps[0], steps[1]


def _with_quick(raw: dict[str, Any], v: _Validator, overrides: Sequence[str]) -> dict[str, Any]:
    try:
        return apply_quick(raw, overrides)
    except pydantic.ValidationError as error:
        v.pydantic_problems(error, "quick", QuickSection)
    except Exception as error:  # a bad dotted key in [quick].set
        v.problem("quick.set", str(error))
    return raw


def _csv_columns(v: _Validator, path: str, where: str) -> set[str] | None:
    """The header of the CSV file ``path`` (None, and a problem, when it cannot be read as CSV)."""
    try:
        return {str(c) for c in read_user_csv(Path(path), where=where, nrows=0).columns}
    except UserError as error:
        v.problem(where, error.message, error.hint)
    except (OSError, ValueError) as error:  # a name too long, a NUL character
        v.problem(where, f"cannot read '{path}': {getattr(error, 'strerror', None) or error}", "check the path")
    return None


def _check_data_columns(v: _Validator, source: str, columns: set[str], data_filters: list[Step],
                        predictors: list[PredictorPlan]) -> None:
    """Problems for each column that a data filter, a predictor's target or its filters read and
    the training data (``columns`` of ``source``) lacks."""
    columns = set(columns) | {"reduced_formula", "composition_key"}  # added to every row read
    hint = "columns found: " + ", ".join(sorted(columns))

    def need(where: str, column: str, reader: str) -> None:
        if column not in columns:
            v.problem(where, f"{reader} reads column '{column}', which {source} does not have",
                      did_you_mean(column, columns) or hint)

    for step in data_filters:
        for column in sorted(step.build().columns()):
            need(f"{step.where}.params", column, f"filter '{step.label}'")
    for p in predictors:
        if p.section.from_run or p.section.dataset:  # trained elsewhere, or on its own dataset
            continue
        where = p.step.where
        for column in p.section.targets + ([p.section.score_on] if p.section.score_on else []):
            need(f"{where}.target", column, f"predictor '{p.section.name}'")
        for step in p.filters:
            for column in sorted(step.build().columns()):
                need(f"{step.where}.params", column, f"filter '{step.label}'")


def check_sources(plan: Plan, registry: Registry, *, allow_modified: bool = False, source: str | None = None) -> None:
    """Check the datasets a plan reads before a run starts: each is present with its catalog sha256
    (DataError from :func:`sc_toolkit.data.load`, unless ``allow_modified``), and the training data
    has the columns the data filters and the predictors read (RecipeError listing each). The tables
    stay in memory, so the run does not read them again."""
    if plan.data.dataset:
        table = load(registry.dataset(plan.data.dataset), allow_modified=allow_modified).table
        v = _Validator(registry, False, [])
        _check_data_columns(v, f"dataset '{plan.data.dataset}'", set(table.columns), plan.data_filters, plan.predictors)
        if v.problems:
            raise RecipeError(v.problems, source=source)
    if plan.candidates and plan.candidates.dataset:
        load(registry.dataset(plan.candidates.dataset), allow_modified=allow_modified)


def _check_calibration(v: _Validator, section: PredictorSection, step: Step, where: str) -> None:
    """Intervals, bounds and hulls belong to regressors; datasets named must be registered."""
    regression = getattr(step.params, "task", "regression") == "regression"
    for key, asked in (("interval", section.interval is not None), ("min_value", section.min_value is not None),
                       ("hull", bool(section.hull)), ("expected", section.expected is not None)):
        if asked and not regression:
            v.problem(f"{where}.{key}", f"'{key}' applies to a regressor, but predictor '{section.name}' classifies",
                      f"remove '{key}' from this predictor")
    if section.negatives and section.threshold is None:
        v.problem(f"{where}.negatives", "negatives are rows labelled below the threshold, but the predictor has none",
                  "give threshold (e.g. 0.0 for 'superconducts at all')")
    for key, names in (("dataset", [section.dataset] if section.dataset else []),
                       ("negatives", [section.negatives] if section.negatives else []), ("hull", section.hull)):
        for name in names:
            if name not in v.registry.datasets:
                v.problem(f"{where}.{key}", f"no dataset named '{name}'",
                          did_you_mean(name, v.registry.datasets) or "see `sctk data list`")


def _check_predictor_links(v: _Validator, predictors: list[PredictorPlan]) -> None:
    """``expected`` names a classifier of the recipe; one predictor at most gives the hull column."""
    tasks = {p.section.name: p.task for p in predictors}
    for i, p in enumerate(predictors):
        wanted = p.section.expected
        if wanted is not None and tasks.get(wanted) != "classification":
            v.problem(f"predictors.{i}.expected", f"no classification predictor named '{wanted}'",
                      did_you_mean(wanted, [n for n, t in tasks.items() if t == "classification"]))
    if sum(bool(p.section.hull) for p in predictors) > 1:
        v.problem("predictors", "two predictors give 'e_hull_pred'", "keep 'hull' on one formation-energy predictor")


def _list_section(raw: dict[str, Any], key: str, v: _Validator) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        v.problem(key, f"'{key}' must be an array of tables", f"write [[{key}]] for each entry")
        return []
    return value


def _check_columns(v, filters, predictors, rank, check: bool) -> int:
    """Index of the first filter that reads a predicted column (predictions run just before it)."""
    predicted = {c: p for p in predictors for c in p.outputs()}
    available = set(CANDIDATE_COLUMNS)
    predict_before = len(filters)
    for i, step in enumerate(filters):
        needs = set(step.build().columns())
        if needs & predicted.keys() and predict_before == len(filters):
            predict_before = i
            available |= predicted.keys()
        for column in sorted(needs - available):
            if check:
                v.problem(f"filters.{i}.params", f"filter '{step.label}' reads column '{column}', "
                          "which no earlier step provides",
                          did_you_mean(column, available | predicted.keys()))
    if rank and check and rank.by not in available | predicted.keys():
        v.problem("rank.by", f"cannot rank by '{rank.by}': no step provides that column",
                  did_you_mean(rank.by, available | predicted.keys()))
    return predict_before
