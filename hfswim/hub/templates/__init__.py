"""Packaged Jinja templates of the dataset card (dataset_cards/ links here)."""
