"""The `newsvigil` command line: commands wire settings, I/O and the library together, and word its errors."""

from newsvigil.cli.main import app

__all__ = ["app"]
