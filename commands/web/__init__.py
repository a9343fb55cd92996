"""`syncledger web`: a read-only site over the store (Flask, Jinja2 templates, htmx).

Every page answers from the same queries as the command line's `--json` output (commands/
views.py, commands/status.py, replay/, projections/): this package only lays them out."""
