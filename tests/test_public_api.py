"""The public surface: ``artstore.__all__`` is sorted and every name in it exists."""

from __future__ import annotations

import artstore
import artstore.api
import artstore.artifacts
import artstore.errors


def test_all_is_sorted():
    assert artstore.__all__ == sorted(artstore.__all__)


def test_every_exported_name_resolves():
    for name in artstore.__all__:
        assert getattr(artstore, name) is not None, name


def test_api_is_the_wandb_shaped_api():
    assert artstore.Api is artstore.api.Api
    assert artstore.Store is artstore.artifacts.Store


def test_exported_classes_are_the_layer_classes():
    assert artstore.Artifact is artstore.artifacts.Artifact
    assert artstore.ArtifactVersion is artstore.artifacts.ArtifactVersion
    assert artstore.errors is artstore.errors


def test_every_error_is_exported_from_errors():
    for name in artstore.errors.__all__:
        error = getattr(artstore.errors, name)
        assert issubclass(error, artstore.errors.ArtstoreError)
        assert error.exit_code in (1, 2, 3)
    assert artstore.errors.__all__ == sorted(artstore.errors.__all__)


def test_dir_lists_the_public_names():
    assert set(artstore.__all__) <= set(dir(artstore))
