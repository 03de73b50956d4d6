"""The errors hfswim raises for problems a user can fix.

Every error names the problem and where it is (a file, a row, a config key, an
endpoint), so that the CLI can print it as one clear line instead of a traceback.
"""

from __future__ import annotations


class HfswimError(Exception):
    """Base class: a problem with the user's input, config or environment."""


class InputError(HfswimError, ValueError):
    """Bad input data: a missing corpus, an empty passage, a malformed row."""


class ConfigError(HfswimError, ValueError):
    """A bad option or config value: an unknown language, a threshold out of range."""


class EndpointError(HfswimError, RuntimeError):
    """An LLM endpoint that cannot be reached or does not speak a known API."""
