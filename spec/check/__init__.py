"""Model checking of the composed spec (`exovoice check`): every configuration the charts can
reach within a bound, the properties the guide's call flow must have, and a shortest
counterexample, as a trace v1 file, for any property that fails."""
