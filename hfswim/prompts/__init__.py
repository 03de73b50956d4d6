"""Prompts for synthetic query generation: SAP (summarize-then-ask), InPars and Promptagator.

Example::

    >>> from hfswim.prompts import get_prompt_strategy
    >>> sap = get_prompt_strategy("sap", "cross-lingual")
    >>> sap.two_step, len(sap.template_hash)
    (True, 16)
    >>> sap.parse_query(" Mbuyu huhifadhi maji wapi?").query
    'Mbuyu huhifadhi maji wapi?'
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so that the prompt options (hfswim.prompts.config) load without the templates.
_EXPORTS = {
    "Exemplar": "hfswim.prompts.exemplars",
    "available_languages": "hfswim.prompts.exemplars",
    "load_exemplars": "hfswim.prompts.exemplars",
    "ParseResult": "hfswim.prompts.parser",
    "parse_query_output": "hfswim.prompts.parser",
    "parse_sap_output": "hfswim.prompts.parser",
    "parse_summary_output": "hfswim.prompts.parser",
    "STRATEGY_NAMES": "hfswim.prompts.strategies",
    "PromptStrategy": "hfswim.prompts.strategies",
    "get_prompt_strategy": "hfswim.prompts.strategies",
    "TEMPLATE_NAMES": "hfswim.prompts.templates",
    "load_template": "hfswim.prompts.templates",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hfswim.prompts' has no attribute {name!r}")
