"""The demo Space: a Gradio app over an hfswim faiss index, built into a folder the Hub runs as it is.

* :mod:`~hfswim.space.app` is the app (imports no hfswim: it is copied into the Space);
* :mod:`~hfswim.space.build` writes the Space folder (``hfswim space build``);
* :mod:`~hfswim.space.push` uploads it (``hfswim space push``).
"""
