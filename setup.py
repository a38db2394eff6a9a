"""Only what pyproject.toml cannot say: ship the top-level features/ (the user's layout) inside
the distribution as the package data of `spec.conform.features`, so that an installed
exovoice can run `exovoice conform` anywhere."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["spec", "spec.*", "reference", "reference.*"])
    + ["spec.conform.features"],
    package_dir={"spec.conform.features": "features"},
    package_data={"spec.conform.features": ["*.feature"]},
)
