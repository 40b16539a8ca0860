"""Every class of recipe error is found before any work, all at once, with location and hint."""

import copy
import tomllib
from pathlib import Path

import pytest

from sc_toolkit.errors import RecipeError, UserError
from sc_toolkit.plan import make_plan
from sc_toolkit.recipe import apply_overrides, dumps_toml, read_recipe
from sc_toolkit.registry import default_registry

RECIPE = Path(__file__).parents[1] / "recipes" / "cuprate_gan.toml"


@pytest.fixture
def recipe() -> dict:
    return copy.deepcopy(tomllib.loads(RECIPE.read_text()))


def problems(raw: dict, **kwargs) -> dict[str, tuple[str, str | None]]:
    with pytest.raises(RecipeError) as info:
        make_plan(raw, default_registry(), **kwargs)
    return {p.where: (p.message, p.hint) for p in info.value.problems}


def test_shipped_recipe_is_valid_and_plans_every_step(recipe):
    plan = make_plan(recipe, default_registry())
    text = "\n".join(plan.describe())
    for word in ("load", "train", "sample", "fit", "filter", "predict", "rank"):
        assert word in text
    assert plan.predict_before == len(plan.filters)  # no filter reads a prediction


def test_resolved_recipe_is_rerunnable(recipe):
    plan = make_plan(recipe, default_registry())
    resolved = tomllib.loads(dumps_toml(plan.resolved_recipe()))
    again = make_plan(resolved, default_registry())
    assert again.resolved_recipe() == plan.resolved_recipe()
    assert resolved["generator"]["params"]["epochs"] == recipe["generator"]["params"]["epochs"]
    assert "batch_size" in resolved["generator"]["params"]  # defaults are written out


def test_unknown_section_and_key_suggest_the_right_name(recipe):
    recipe["generatr"] = recipe.pop("generator")
    recipe["rank"]["descnding"] = True
    found = problems(recipe)
    assert found["generatr"][1] == "did you mean 'generator'?"
    assert found["rank.descnding"] == ("unknown key 'descnding'", "did you mean 'descending'?")


def test_missing_sections_and_keys(recipe):
    del recipe["run"]
    del recipe["generator"]["use"]
    found = problems(recipe)
    assert "missing section [run]" in found["run"][0]
    assert "missing required key 'use'" in found["generator.use"][0]


def test_unknown_component_and_wrong_kind(recipe):
    recipe["generator"]["use"] = "wgan-pg"
    recipe["filters"][0]["use"] = "magpie"
    found = problems(recipe)
    assert found["generator.use"] == ("no generator named 'wgan-pg'", "did you mean 'wgan-gp'?")
    assert found["filters.0.use"][1] == "'magpie' is an encoder, not a filter"


def test_component_params_are_checked_by_the_component(recipe):
    recipe["generator"]["params"] = {"epoch": 3, "batch_size": "large"}
    found = problems(recipe)
    assert found["generator.params.epoch"] == ("unknown key 'epoch'", "did you mean 'epochs'?")
    assert "batch_size" in next(k for k in found if k.startswith("generator.params.batch_size"))


def test_generator_needs_an_invertible_encoder(recipe):
    recipe["generator"]["encoder"] = {"use": "magpie"}
    message, hint = problems(recipe)["generator.encoder.use"]
    assert "not invertible" in message and "element-fractions" in hint


def test_filter_and_rank_columns_must_be_provided(recipe):
    recipe["filters"].append({"use": "threshold", "params": {"column": "tc_predd", "ge": 30}})
    recipe["rank"]["by"] = "tc"
    found = problems(recipe)
    message, hint = found["filters.4.params"]
    assert "reads column 'tc_predd'" in message and hint == "did you mean 'tc_pred'?"
    assert "cannot rank by 'tc'" in found["rank.by"][0]


def test_filter_on_a_prediction_runs_after_predicting(recipe):
    recipe["filters"].insert(1, {"use": "threshold", "params": {"column": "tc_pred", "ge": 30}})
    plan = make_plan(recipe, default_registry())
    assert plan.predict_before == 1
    lines = plan.describe()
    assert lines.index(next(x for x in lines if "predict " in x)) < lines.index(
        next(x for x in lines if "filter    threshold" in x))


def test_condition_needs_a_label_and_threshold_needs_classification(recipe):
    recipe["generator"]["condition"] = "cuprate"
    recipe["predictors"][0]["threshold"] = 10.0
    found = problems(recipe)
    assert "needs the training column of labels" in found["generator.condition"][0]
    assert "task is not 'classification'" in found["predictors.0.threshold"][0]


def test_data_needs_exactly_one_source_and_a_known_dataset(recipe):
    recipe["data"]["path"] = "x.csv"
    assert "exactly one of" in problems(recipe)["data"][0]
    del recipe["data"]["path"]
    recipe["data"]["dataset"] = "supercom"
    assert problems(recipe)["data.dataset"][1] == "did you mean 'supercon'?"


def test_duplicate_labels_are_refused(recipe):
    recipe["filters"].append({"use": "unique"})
    recipe["predictors"].append(copy.deepcopy(recipe["predictors"][0]))
    found = problems(recipe)
    assert "two filters are labelled 'unique'" in found["filters"][0]
    assert "two predictors are named 'tc'" in found[f"predictors.{len(recipe['predictors']) - 1}.name"][0]


def test_all_problems_are_reported_at_once(recipe):
    recipe["generator"]["use"] = "nope"
    recipe["predictors"][0]["use"] = "nope"
    recipe["filters"][0]["params"]["must_contain"] = "Cu"
    recipe["run"]["seed"] = "x"
    assert len(problems(recipe)) >= 4


def test_quick_applies_component_and_recipe_overrides(recipe):
    recipe["quick"]["set"] = {"predictors.0.params.n_models": 1}
    plan = make_plan(recipe, default_registry(), quick=True)
    assert plan.generator_step.params.epochs < recipe["generator"]["params"]["epochs"]
    assert plan.predictors[0].step.params.n_models == 1
    assert plan.quick.n_samples == 2000


def test_set_overrides(recipe):
    changed = apply_overrides(recipe, ["generator.params.epochs=5", "predictors.0.params.n_models=2",
                                       'run.name="other"'])
    assert changed["generator"]["params"]["epochs"] == 5
    assert changed["predictors"][0]["params"]["n_models"] == 2
    assert changed["run"]["name"] == "other" and recipe["run"]["name"] == "cuprate_gan"
    with pytest.raises(UserError, match="not key=value"):
        apply_overrides(recipe, ["generator.params.epochs"])
    with pytest.raises(UserError, match="not an index"):
        apply_overrides(recipe, ["predictors.3.use=x"])


def test_unreadable_recipe_files(tmp_path):
    with pytest.raises(UserError, match="recipe file not found"):
        read_recipe(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nname = 1")
    with pytest.raises(UserError, match="invalid TOML"):
        read_recipe(bad)


@pytest.mark.parametrize("path", sorted((RECIPE.parent).glob("*.toml")), ids=lambda p: p.name)
@pytest.mark.parametrize("quick", [False, True], ids=["full", "quick"])
def test_every_shipped_recipe_validates(path, quick):
    plan = make_plan(read_recipe(path), default_registry(), quick=quick, source=str(path))
    assert plan.describe()


def test_a_multi_column_target_cannot_be_thresholded(recipe):
    recipe["predictors"][1]["target"] = ["tc", "n_entries"]
    assert "a threshold needs a single target column" in problems(recipe)["predictors.1.threshold"][0]
    recipe["predictors"][1].pop("threshold")
    recipe["predictors"][1].pop("negatives")  # negatives are rows below a threshold
    recipe["predictors"][0].pop("expected")  # expected Tc needs the classifier this one no longer is
    recipe["rank"]["by"] = "tc_pred"
    recipe["predictors"][1]["params"]["task"] = "regression"
    recipe["predictors"][1]["score_on"] = "tc"
    del recipe["evaluate"]["classifier"]
    plan = make_plan(recipe, default_registry())
    assert plan.predictors[1].section.targets == ["tc", "n_entries"]


_TEXT = '[run]\nname = "café"\n[data]\ndataset = "supercon"\n'


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_TEXT.encode("latin-1"), "not UTF-8: byte 0xe9 on line 2"),
        (_TEXT.encode("utf-16"), "UTF-16 text, not UTF-8"),  # with a byte-order mark
        (_TEXT.encode("utf-16-le"), "UTF-16 text, not UTF-8"),  # without one
        (_TEXT.encode("utf-16-be"), "UTF-16 text, not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary, not TOML text"),
        (b"", "recipe file is empty"),
        (b" \n\n", "recipe file is empty"),
        (b"a = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ],
    ids=["latin-1", "utf-16", "utf-16-le", "utf-16-be", "binary", "empty", "blank", "deep"],
)
def test_recipe_files_that_are_not_utf8_toml_give_one_line(tmp_path, content, reason):
    path = tmp_path / "recipe.toml"
    path.write_bytes(content)
    with pytest.raises(UserError, match=reason) as info:
        read_recipe(path)
    error = info.value
    assert error.where == str(path) and error.hint and error.exit_code == 2
    assert "\n" not in error.one_line()


def test_a_folder_given_as_recipe_says_so(tmp_path):
    with pytest.raises(UserError, match="is a folder, not a recipe file") as info:
        read_recipe(tmp_path)
    assert info.value.where == str(tmp_path)


def test_utf8_with_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "recipe.toml"
    path.write_bytes(_TEXT.encode("utf-8-sig"))
    assert read_recipe(path)["run"]["name"] == "café"


@pytest.mark.parametrize("index", ["²", "٣", "-1", "0x1"])
def test_set_with_a_non_ascii_or_odd_index_is_refused(recipe, index):
    with pytest.raises(UserError, match="not an index"):
        apply_overrides(recipe, [f"predictors.{index}.use=x"])
