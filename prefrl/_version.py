"""The version of prefrl (read by pyproject.toml and the docs)."""

__version__ = "0.1.0"
