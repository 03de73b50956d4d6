"""hfswim: SWIM-IR on the Hugging Face stack.

Synthesize multilingual retrieval training data with an LLM (summarize-then-ask
prompting), filter it, publish it to the Hub, train and evaluate retrievers on it.
"""

__version__ = "0.1.0"
