"""The binding `exovoice conform` runs: every feature shipped with exovoice, bound to the step
library. (The plugin and the steps are loaded by the runner with `-p`.)"""

from pytest_bdd import scenarios

from exovoice.spec.conform.plugin import features_dir, register_markers

register_markers()
scenarios(str(features_dir()))
