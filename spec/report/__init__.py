"""What a person reads about a verdict: the terminal's colours and the self-contained HTML
report of `exovoice validate --report` and `exovoice conform --report`, drawn on the spec's own
call-state diagram."""
