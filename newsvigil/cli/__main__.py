"""`python -m newsvigil.cli`: the same command line as the `newsvigil` script."""

from newsvigil.cli import app

app()
