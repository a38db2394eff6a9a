"""Model-based testing of a client (`exovoice explore`): walks generated from the spec, each
step one of the step library's own When steps, judged online by the validator; a failure is
shrunk by hypothesis to the shortest run that still fails and written as a trace and as a
Gherkin scenario the existing step library runs."""
