"""Recipes: validation, help text, and keys that stay stable when defaulted fields are added."""

from __future__ import annotations

import dataclasses

import pytest

from bench import data
from bench.registry import UnknownNameError
from bench.training import recipes
from bench.training.recipes import Recipe, stable_hash

# Regression pins: changing any of these silently orphans every cached model and result row.
PINNED_KEYS = {
    "pretrain-small": "825a7e553adf",
    "finetune-small": "4c0d7b5f14c7",
    "pretrain-cifar": "2ce5a1a53b11",
    "finetune-imagenet": "8653ba396ad3",
    "pretrain-small-fast": "f30501371b9e",
    "pretrain-digits": "63b277b80c51",
    "pretrain-lenet5-mnist": "b39a35757923",
}


@pytest.mark.parametrize("name", sorted(PINNED_KEYS))
def test_recipe_keys_are_pinned(name):
    assert recipes.get(name).key == PINNED_KEYS[name]


def test_default_recipe_key_is_hash_of_nothing():
    assert Recipe().key == stable_hash({})


def test_adding_a_defaulted_field_keeps_old_keys():
    extended = dataclasses.make_dataclass(
        "ExtendedRecipe", [("label_smoothing", float, dataclasses.field(default=0.0))],
        bases=(Recipe,), frozen=True)
    for name in PINNED_KEYS:
        old = recipes.get(name)
        assert extended(**old.to_dict() | {"step_milestones": old.step_milestones}).key == old.key
    assert extended(label_smoothing=0.1).key != Recipe().key  # a non-default value does count


def test_key_ignores_field_order_and_tracks_values():
    assert Recipe(epochs=3, lr=0.1).key == Recipe(lr=0.1, epochs=3).key
    assert Recipe(epochs=3).key != Recipe(epochs=4).key


def test_every_field_has_help():
    helps = recipes.field_help()
    assert set(helps) == {f.name for f in dataclasses.fields(Recipe)}
    assert all(not text.startswith(" (default") for text in helps.values())


@pytest.mark.parametrize("bad", [{"optimizer": "rmsprop"}, {"schedule": "linear"}, {"lr": 0.0},
                                 {"batch_size": 0}])
def test_bad_values_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Recipe(**bad)


def test_recipes_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipes.get("pretrain-small").epochs = 1  # type: ignore[misc]


def test_unknown_recipe_lists_valid_names():
    with pytest.raises(UnknownNameError, match="pretrain-small"):
        recipes.get("pretrain-huge")


@pytest.mark.parametrize("name", data.names())
def test_every_dataset_names_existing_recipes(name):
    spec = data.get(name)
    recipes.get(spec.pretrain_recipe), recipes.get(spec.finetune_recipe)
    for _, recipe in spec.arch_pretrain:
        recipes.get(recipe)


def test_paper_scale_recipes_for_cifar_and_imagenet():
    cifar = recipes.get(data.get("cifar10").pretrain_recipe)
    assert (cifar.epochs, cifar.lr, cifar.schedule, cifar.augment) == (160, 0.1, "step", True)
    assert recipes.get(data.get("imagenet").pretrain_recipe).epochs == 90
    assert data.get("mnist5k").pretrain_recipe_for("resnet20") == "pretrain-small-fast"
    # issue 12: LeNet-5's own recipe (pretrain-small left dead conv2 channels); the MLP keeps its
    assert data.get("mnist5k").pretrain_recipe_for("lenet5") == "pretrain-lenet5-mnist"
    assert data.get("mnist5k").pretrain_recipe_for("mlp") == "pretrain-small"
