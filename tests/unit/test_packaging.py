"""pyproject.toml as setuptools reads it: `pip install` prints no licence deprecation warning."""

from __future__ import annotations

import warnings
from pathlib import Path

from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_license_is_an_spdx_expression_without_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), PYPROJECT)
    assert [str(w.message) for w in caught if "licen" in str(w.message).lower()] == []
    assert dist.metadata.license_expression == "Apache-2.0"
