"""Push a built dataset repo folder to the Hub: re-render its card for the repo id, check it, upload changes.

The folder is the whole dataset repo (build new languages *into* it): shards on the Hub under ``data/``
that no longer exist locally are deleted in the same commit, so the Hub serves exactly the local build.

Example (offline, with a recording stand-in for HfApi)::

    >>> import tempfile, pathlib
    >>> from hfswim.hub.build import build_dataset
    >>> from hfswim.io import AtomicParquetWriter
    >>> from hfswim.records import GENERATED_SCHEMA
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> with AtomicParquetWriter(tmp / "r.parquet", GENERATED_SCHEMA) as w:
    ...     w.write_rows([{"record_id": "r0", "passage_id": "d0#0", "text": "The Nile.", "passage_language": "en",
    ...                    "query_language": "sw", "query": "Mto gani?", "parse_status": "ok"}])
    >>> _ = build_dataset(tmp / "r.parquet", tmp / "repo")
    >>> class Api:
    ...     def create_repo(self, repo_id, **kw): return repo_id
    ...     def list_repo_tree(self, repo_id, **kw): return []
    ...     def upload_folder(self, **kw): return None
    >>> push_dataset(tmp / "repo", "me/swim-ir-sw", api=Api()).uploaded
    ['README.md', 'data/sw/train-00000-of-00001.parquet', 'hfswim.json']
    >>> "load_dataset(\\"me/swim-ir-sw\\", \\"sw\\"" in (tmp / "repo" / "README.md").read_text()
    True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hfswim.errors import InputError
from hfswim.hub.card import check_card, write_card
from hfswim.hub.layout import CARD_FILE, DATA_DIR, STATE_FILE
from hfswim.hub.upload import PushResult, push_folder, validate_repo_id

if TYPE_CHECKING:
    from huggingface_hub import HfApi


def push_dataset(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    api: HfApi | None = None,
) -> PushResult:
    """Push a dataset repo folder built by :func:`~hfswim.hub.build.build_dataset` (or any folder with a card).

    Raises:
        ConfigError: an invalid repo id or no token.
        InputError: the folder has no valid card (the offline card checks fail).
    """
    from hfswim.hub.build import lock_repo_folder

    validate_repo_id(repo_id)
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such dataset folder; build one with `hfswim build-dataset`.")
    with lock_repo_folder(folder):  # a build running into this folder would change it under the upload
        return _push_locked(folder, repo_id, private, revision, commit_message, token, api)


def _push_locked(
    folder: Path,
    repo_id: str,
    private: bool,
    revision: str | None,
    commit_message: str | None,
    token: str | None,
    api: HfApi | None,
) -> PushResult:
    from hfswim.hub.build import load_state

    state = load_state(folder)
    if state is not None:
        from hfswim.hub.build import CARD_TEMPLATE_FILE
        from hfswim.io import write_json_atomic

        # The folder remembers where it went: a model trained from this folder names it in its card's
        # `datasets:` metadata, and a later rebuild's card keeps naming this repo.
        state["repo_id"] = repo_id
        write_json_atomic(folder / STATE_FILE, state)

        saved = folder / CARD_TEMPLATE_FILE
        template = saved.read_text(encoding="utf-8").strip() if saved.is_file() else state.get("card_template")
        write_card(
            folder, state, repo_id=repo_id, template_path=template if template and Path(template).is_file() else None
        )  # the card's snippets name this repo
    elif (folder / CARD_FILE).is_file():
        check_card(folder)
    else:
        raise InputError(f"{folder}: no {CARD_FILE}; build the folder with `hfswim build-dataset` first.")
    return push_folder(
        folder,
        repo_id,
        repo_type="dataset",
        private=private,
        revision=revision,
        commit_message=commit_message or _default_message(state),
        token=token,
        api=api,
        prune=(f"{DATA_DIR}/",),
    )


def _default_message(state: dict | None) -> str:
    configs = sorted((state or {}).get("configs", {}))
    if not configs:
        return "Upload dataset with hfswim"
    shown = ", ".join(configs[:8]) + (f" and {len(configs) - 8} more" if len(configs) > 8 else "")
    return f"Upload SWIM-IR dataset with hfswim ({shown})"
