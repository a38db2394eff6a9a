"""`exovoice probe-backend`: a customer's live Dial Whom and push endpoints judged against
guide 5.1 as the platform would call them (`checks`), reported as text, JSON or JUnit XML
(`cli`). It starts nothing: it contacts only the URLs it is given."""
