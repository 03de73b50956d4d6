"""Prompts for synthetic query generation: SAP (summarize-then-ask), InPars and Promptagator.

Example::

    >>> from hfswim.prompts import get_prompt_strategy
    >>> sap = get_prompt_strategy("sap", "cross-lingual")
    >>> sap.two_step, len(sap.template_hash)
    (True, 16)
    >>> sap.parse_query(" Mbuyu huhifadhi maji wapi?").query
    'Mbuyu huhifadhi maji wapi?'
"""

from hfswim.prompts.exemplars import Exemplar, available_languages, load_exemplars
from hfswim.prompts.parser import ParseResult, parse_query_output, parse_sap_output, parse_summary_output
from hfswim.prompts.strategies import STRATEGY_NAMES, PromptStrategy, get_prompt_strategy
from hfswim.prompts.templates import TEMPLATE_NAMES, load_template

__all__ = [
    "STRATEGY_NAMES",
    "TEMPLATE_NAMES",
    "Exemplar",
    "ParseResult",
    "PromptStrategy",
    "available_languages",
    "get_prompt_strategy",
    "load_exemplars",
    "load_template",
    "parse_query_output",
    "parse_sap_output",
    "parse_summary_output",
]
