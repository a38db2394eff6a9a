"""Only what pyproject.toml cannot say: the one import package `exovoice`, whose parts live in
the repository's own top-level folders (the layout the project keeps): `spec/` is
`exovoice.spec`, `reference/` is `exovoice.reference` and the Gherkin features in `features/`
ship as the package data of `exovoice.features`, so an installed exovoice runs `exovoice
conform` anywhere and puts nothing but `exovoice` at the top of site-packages."""

from setuptools import find_packages, setup

ROOMS = {"spec": "spec", "reference": "reference"}


def packages() -> list[str]:
    out = ["exovoice.features"]
    for name, folder in ROOMS.items():
        out += [f"exovoice.{name}"] + [f"exovoice.{name}.{p}" for p in find_packages(folder)]
    return out


setup(
    packages=packages(),
    package_dir={**{f"exovoice.{n}": f for n, f in ROOMS.items()}, "exovoice.features": "features"},
    package_data={"exovoice.features": ["*.feature"]},
)
