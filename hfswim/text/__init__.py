"""Text utilities shared by the filters, the prompts and the Space: one place for what reads text.

* :mod:`hfswim.text.langid` — language identification (fastText lid.176, lingua) and writing scripts.
* :mod:`hfswim.text.normalize` — normalisation, tokens per script and verbatim-run tests.
"""
