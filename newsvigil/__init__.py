"""newsvigil: always-on multilingual news monitoring (settings, records and the command line)."""

__version__ = "0.1.0"
