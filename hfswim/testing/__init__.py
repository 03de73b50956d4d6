"""Test helpers that ship with hfswim (as ``transformers.testing_utils`` does): servers and fixtures that
the test suite, the benchmarks and users' own tests share.

* :mod:`hfswim.testing.loopback` — a loopback LLM server speaking TGI's API and the OpenAI Messages API,
  with scripted faults (``python -m hfswim.testing.loopback --port 8089``).
"""
