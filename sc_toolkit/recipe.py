"""Recipe files: TOML that chains components into a run, with a typed schema.

A recipe has these tables (all but ``[run]`` and ``[data]`` optional)::

    [run]          name, seed, device, output_dir
    [data]         dataset (registered name) or path (CSV), filters = [...] selecting training rows
    [generator]    use, params, encoder = {use, params}, n_samples, label, condition
    [[predictors]] name, use, params, encoder, target, threshold, holdout   (or name + from_run)
    [candidates]   dataset or path: materials to screen instead of generated ones
    [[filters]]    use, params, name             (applied to the candidates, in order)
    [rank]         by, descending, top
    [evaluate]     n_samples, classifier, regressor, embedding   (the generator papers' metrics)
    [structures]   generator, datasets, k, top or path, relaxer, predictors, rank_by   (crystal structures)
    [quick]        rows, n_samples, set = {"dotted.key" = value}   (what --quick changes)

This module only parses and edits recipe text; :mod:`sc_toolkit.plan` validates a recipe against
the registered components.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .errors import UserError


#: Longest name that becomes part of a path (run names, predictor names).
MAX_NAME_LENGTH = 64
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def check_name(name: str) -> str:
    """``name`` when it is safe as one path component: ASCII letters, digits, '-', '_' and '.'
    (not leading), at most :data:`MAX_NAME_LENGTH` characters; so no separator, no '..', no
    control or bidirectional-override character. ValueError saying what is wrong otherwise."""
    if not name:
        raise ValueError("a name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a name has at most {MAX_NAME_LENGTH} characters, this one {len(name)}")
    if not _NAME.fullmatch(name):
        bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "._-"))), name[0])
        raise ValueError(f"{bad!r} cannot be part of a name that becomes a folder: use letters, digits, "
                         "'-', '_' and '.' (not first)")
    return name


#: A name that becomes a file or folder name inside a run (see :func:`check_name`).
SafeName = Annotated[str, AfterValidator(check_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentRef(_Strict):
    """A component by registered name, with its parameters."""

    use: str = Field(description="registered component name, e.g. 'wgan-gp'")
    params: dict[str, Any] = Field(default_factory=dict, description="the component's parameters")


class FilterStep(ComponentRef):
    name: str | None = Field(None, description="label in the candidate table (default: use)")


class RunSection(_Strict):
    name: SafeName = Field(description="run name; the run directory is <output_dir>/<name>-<time> "
                           "(letters, digits, '-', '_', '.' not first; at most 64 characters)")
    seed: int = Field(0, description="seed given to every component that takes one")
    device: str = Field("auto", description="'auto' (GPU when present), 'cpu' or 'cuda[:n]'")
    output_dir: str = Field("runs", description="where run directories are created")
    executor: Literal["local", "ray"] = Field("local", description="where candidate batches are screened and "
                                              "ensemble members trained: 'local' (this process) or 'ray' (Ray "
                                              "tasks; needs sc-toolkit[ray])")
    ray_address: str | None = Field(None, description="Ray cluster to join (default: RAY_ADDRESS, else a local "
                                    "Ray started for the run)")
    workers: int | None = Field(None, gt=0, description="CPUs of the local Ray started for the run (default: all)")
    batch_size: int = Field(50_000, gt=0, description="candidates screened per batch (bounds the memory)")


class DataSection(_Strict):
    dataset: str | None = Field(None, description="registered dataset name (see `sctk data list`)")
    path: str | None = Field(None, description="a CSV file with a 'formula' column, instead of a dataset")
    filters: list[FilterStep] = Field(default_factory=list, description="filters selecting training rows")


class GeneratorSection(ComponentRef):
    encoder: ComponentRef = Field(description="invertible encoder the generator learns in")
    n_samples: int = Field(20_000, gt=0, description="compositions to sample")
    label: str | None = Field(None, description="training column of class labels (conditional generators)")
    condition: str | None = Field(None, description="label to sample (conditional generators)")
    init_from: str | None = Field(None, description="run (or run name) whose trained generator and encoder "
                                  "this one starts from: transfer learning")
    filters: list[FilterStep] = Field(default_factory=list, description="filters selecting the generator's training rows")
    holdout: float = Field(0.0, ge=0.0, lt=1.0, description="share of the training rows' composition groups kept "
                           "out of the generator's training, to measure their recovery (Lim)")


class PredictorSection(_Strict):
    name: SafeName = Field(description="output column prefix: '<name>_pred', '<name>_std', '<name>_proba', and "
                           "the folder of the saved model (letters, digits, '-', '_', '.' not first; at most 64)")
    use: str | None = Field(None, description="registered predictor name (read from the run with from_run)")
    params: dict[str, Any] = Field(default_factory=dict, description="the predictor's parameters")
    encoder: ComponentRef | None = Field(None, description="encoder giving the predictor's features")
    from_run: str | None = Field(None, description="run directory whose saved predictor of this name is used, untrained")
    filters: list[FilterStep] = Field(default_factory=list, description="filters selecting this predictor's training rows")

    @property
    def targets(self) -> list[str]:
        """The target column(s) as a list."""
        return [self.target] if isinstance(self.target, str) else list(self.target)
    target: str | list[str] = Field("tc", description="training column to predict, or several columns "
                                    "(e.g. ['lambda', 'omega_log'] for a model trained through moments)")
    score_on: str | None = Field(None, description="column the hold-out predictions are scored against "
                                 "(default: the target; needed when the target has several columns)")
    threshold: float | None = Field(None, description="classify target > threshold (classification)")
    holdout: float = Field(0.2, ge=0.0, lt=1.0, description="share of composition groups held out")
    rows: int | None = Field(None, gt=0, description="train on a seeded sample of at most this many rows "
                             "(after the filters; keeps structure networks within a CPU budget)")
    dataset: str | None = Field(None, description="registered dataset to train on instead of [data] "
                                "(e.g. 'mp-e-form' for a formation-energy model)")
    negatives: str | None = Field(None, description="registered dataset of known non-superconductors appended "
                                  "to the training rows with target 0 (e.g. 'wide-gap-insulators')")
    min_value: float | None = Field(None, description="smallest value the target can take: predictions and "
                                    "interval bounds are clipped there (0 for Tc)")
    interval: float | None = Field(None, gt=0.0, lt=1.0, description="conformal prediction interval at this "
                                   "level (e.g. 0.9): '<name>_lo', '<name>_hi', calibrated on held-out groups")
    interval_by: Literal["family", "none"] = Field("family", description="calibrate the interval per "
                                                   "superconductor family (cuprate, iron-based, other) or pooled")
    domain: bool = Field(False, description="applicability domain: '<name>_domain_distance', "
                         "'<name>_in_domain' and 'in_domain', threshold calibrated on held-out groups")
    domain_quantile: float = Field(0.95, gt=0.0, le=1.0, description="held-out compositions' distance "
                                   "quantile that sets the domain threshold")
    expected: str | None = Field(None, description="classification predictor whose P(positive) x this "
                                 "prediction is written as 'expected_<name>' (e.g. expected Tc)")
    hull: list[str] = Field(default_factory=list, description="registered datasets of formation energies "
                            "whose convex hull gives 'e_hull_pred' from this formation-energy predictor")


class CandidatesSection(_Strict):
    dataset: str | None = Field(None, description="registered dataset whose rows are screened")
    path: str | None = Field(None, description="a CSV file ('formula' column, optional 'cif') to screen")


class EvaluateSection(_Strict):
    n_samples: int = Field(100_000, gt=0, description="fresh samples evaluated the papers' way (--quick: at most quick.n_samples)")
    classifier: str | None = Field(None, description="predictor giving the superconductor fraction (default: first classifier)")
    regressor: str | None = Field(None, description="predictor giving the Tc distribution (default: first regressor)")
    embedding: Literal["tsne", "pca", "none"] = Field("tsne", description="2-D map of generated vs training compositions")


class RankSection(_Strict):
    by: str = Field(description="column to sort accepted candidates by")
    descending: bool = True
    top: int = Field(25, gt=0, description="candidates shown in the summary")
    max_per_element_set: int | None = Field(None, gt=0, description="keep at most this many accepted "
                                            "candidates per set of elements, best first")
    min_distance: float | None = Field(None, gt=0.0, description="skip a candidate whose atomic fractions lie "
                                       "within this L1 distance of a better-ranked kept one")
    keep: int | None = Field(None, gt=0, description="rank at most this many candidates (default: every accepted "
                             "one); bounds the ranking's memory when screening millions")


class StructuresSection(_Strict):
    generator: ComponentRef = Field(description="structure generator proposing crystal structures for a composition, "
                                    "e.g. { use = \"prototype\" } (`sctk list-plugins`)")
    datasets: list[str] = Field(min_length=1, description="registered structure datasets the generator is fitted "
                                "on, e.g. [\"supercon3d\", \"3dsc\"] (read whole, also by --quick)")
    k: int = Field(5, gt=0, description="structures proposed per composition")
    top: int = Field(10, gt=0, description="accepted composition candidates, best-ranked first, that get structures")
    path: str | None = Field(None, description="a CSV file with a 'formula' column whose formulas get structures, "
                             "instead of the ranked candidates")
    relaxer: ComponentRef | None = Field(None, description="relaxer of every proposed structure, e.g. "
                                         "{ use = \"chgnet\" }; a rejected relaxation keeps its reason")
    predictors: list[str] = Field(default_factory=list, description="names of [[predictors]] with a structure "
                                  "encoder that score the (relaxed) structures instead of the candidates")
    rank_by: str | None = Field(None, description="column ranking the structures (default: the first predictor's "
                                "'<name>_pred')")
    descending: bool = Field(True, description="rank the largest value first")


class QuickSection(_Strict):
    rows: int = Field(1500, gt=0, description="training rows kept by --quick (seeded sample)")
    n_samples: int = Field(2000, gt=0, description="samples drawn by --quick")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted overrides applied by --quick")


SECTIONS: dict[str, type[BaseModel]] = {
    "run": RunSection,
    "data": DataSection,
    "generator": GeneratorSection,
    "predictors": PredictorSection,
    "candidates": CandidatesSection,
    "filters": FilterStep,
    "rank": RankSection,
    "evaluate": EvaluateSection,
    "structures": StructuresSection,
    "quick": QuickSection,
}
REQUIRED_SECTIONS = ("run", "data")


def read_recipe(path: str | Path) -> dict[str, Any]:
    """The recipe file as a dict.

    A recipe is UTF-8 TOML (a UTF-8 byte-order mark is allowed). Anything else raises UserError,
    one line naming the file and what to do: a missing path, a directory, an unreadable file, an
    empty file, a binary file, text in another encoding (UTF-16, Latin-1, ...), or invalid TOML.
    """
    path = Path(path)
    where = str(path)
    if path.is_dir():
        raise UserError(
            "is a folder, not a recipe file", where=where, hint="give the path of a .toml recipe inside it"
        )
    if not path.is_file():
        raise UserError(f"recipe file not found: {path}", hint="give the path of a .toml recipe")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(
            f"cannot read the recipe file: {error.strerror or error}",
            where=where,
            hint="check the file's permissions",
        ) from None
    text = _decode_recipe(data, where)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"invalid TOML: {error}", where=where, hint="check quotes and brackets") from None
    except RecursionError:
        raise UserError(
            "invalid TOML: arrays or tables nested too deeply", where=where, hint="check the brackets"
        ) from None


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_SAVE_AS_UTF8 = "save it as UTF-8 (TOML is always UTF-8), e.g. with your editor's 'encoding' menu"


def looks_utf16(data: bytes) -> bool:
    """True for the start of a UTF-16 text file: a UTF-16 byte-order mark, or mostly-ASCII text
    with a NUL in every other byte."""
    if data.startswith(_UTF16_BOMS):
        return True
    head = data[:512]
    halves = head[0::2], head[1::2]
    return len(head) >= 4 and any(h.count(0) >= 0.75 * len(h) and not o.count(0) for h, o in (halves, halves[::-1]))


def _decode_recipe(data: bytes, where: str) -> str:
    """The text of a recipe file's bytes; UserError for empty, binary or non-UTF-8 content."""
    if not data.strip():
        raise UserError("the recipe file is empty", where=where, hint="a recipe needs at least [run] and [data]")
    if looks_utf16(data):
        raise UserError("the recipe file is UTF-16 text, not UTF-8", where=where, hint=_SAVE_AS_UTF8)
    if b"\x00" in data:
        raise UserError(
            "the recipe file is binary, not TOML text", where=where, hint="give the path of a .toml recipe"
        )
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UserError(
            f"the recipe file is not UTF-8: byte 0x{data[error.start]:02x} on line {line} "
            "(Latin-1 or another legacy encoding?)",
            where=where,
            hint=_SAVE_AS_UTF8,
        ) from None


def parse_value(text: str) -> Any:
    """A command-line value read as TOML (numbers, booleans, lists, quoted strings), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def set_dotted(recipe: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` ('generator.params.epochs', 'predictors.0.params.n_estimators') in place."""
    parts = key.split(".")
    node: Any = recipe
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                raise UserError(
                    f"--set {key}: '{part}' is not an index of the {len(node)} entries of '{'.'.join(parts[:i])}'",
                    hint="use a number such as 0",
                )
            part = int(part)
        elif not isinstance(node, dict):
            raise UserError(f"--set {key}: '{'.'.join(parts[:i])}' is a value, not a table")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and part not in node:
                node[part] = {}
            node = node[part]


def apply_overrides(recipe: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``recipe`` with each 'key=value' override applied."""
    recipe = copy.deepcopy(recipe)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r} is not key=value", hint="e.g. --set generator.params.epochs=5")
        set_dotted(recipe, key.strip(), parse_value(value.strip()))
    return recipe


def overridden(key: str, overrides) -> bool:
    """True when ``key`` or a table holding it is among the dotted ``overrides`` keys."""
    return any(key == o or key.startswith(o + ".") for o in overrides)


def apply_quick(recipe: dict[str, Any], overrides=()) -> dict[str, Any]:
    """A copy of ``recipe`` with its ``[quick].set`` values applied, except the keys that explicit
    ``overrides`` (dotted keys given with --set) already set: those win (component quick values come later)."""
    quick = QuickSection(**recipe.get("quick", {}))
    recipe = copy.deepcopy(recipe)
    for key, value in quick.set.items():
        if not overridden(key, overrides):
            set_dotted(recipe, key, value)
    return recipe


def override_keys(overrides: list[str]) -> list[str]:
    """The dotted keys of 'key=value' overrides."""
    return [item.partition("=")[0].strip() for item in overrides]


def dumps_toml(data: dict[str, Any]) -> str:
    """TOML text of a recipe dict (tables, arrays of tables, inline values)."""
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, (dict, list)) or _inline_list(v)}
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in data.items():
        if key in scalars:
            continue
        if isinstance(value, dict):
            lines += ["", f"[{_key(key)}]"] + [
                f"{_key(k)} = {_value(v)}" for k, v in value.items()
            ]
        else:
            for item in value:
                lines += ["", f"[[{_key(key)}]]"] + [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def _inline_list(value: Any) -> bool:
    return isinstance(value, list) and not all(isinstance(v, dict) for v in value) or value == []


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    return '"' + "".join(
        _ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in text
    ) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if value is None:
        raise UserError("a recipe value cannot be empty (None)", hint="leave the key out instead")
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
