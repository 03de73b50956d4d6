"""Push a Space folder built by ``hfswim space build`` to the Hub: ``hfswim space push``.

The transfer is :func:`hfswim.hub.upload.push_folder`, as for ``push-dataset`` and ``push-model``: the same
token rules (``--token``, else HF_TOKEN / ``hf auth login``; never printed), only changed files uploaded, no
commit when nothing changed. The repo is created as a Gradio Space; index and model files that a rebuild
dropped are deleted on the Hub in the same commit.

Example (offline: a recording stand-in for ``HfApi``)::

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "app.py").write_text("print('hi')")
    >>> _ = (folder / "README.md").write_text("---\\nsdk: gradio\\napp_file: app.py\\n---\\n# hi\\n")
    >>> class Api:
    ...     def create_repo(self, repo_id, **kw): print(kw["repo_type"], kw["space_sdk"]); return repo_id
    ...     def list_repo_tree(self, repo_id, **kw): return []
    ...     def upload_folder(self, **kw): print(kw["allow_patterns"])
    >>> _ = push_space(folder, "me/search", api=Api(), token="hf_x")
    space gradio
    ['README.md', 'app.py']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hfswim.errors import InputError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

    from hfswim.hub.upload import PushResult


def check_space_folder(folder: Path) -> str:
    """The Space's ``app_file`` after checking that ``folder`` is one (a card with ``sdk`` and that file)."""
    from huggingface_hub import SpaceCard

    card_path = folder / "README.md"
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; build one with `hfswim space build {folder}`")
    if not card_path.is_file():
        raise InputError(f"{folder}: no README.md; build the folder with `hfswim space build`")
    data = SpaceCard.load(card_path).data
    if not data.sdk:
        raise InputError(f"{card_path}: the front matter names no `sdk`; the Hub cannot run this Space")
    app_file = data.app_file or "app.py"
    if not (folder / app_file).is_file():
        raise InputError(f"{folder}: the card's app_file {app_file!r} is missing")
    return app_file


def push_space(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    api: HfApi | None = None,
) -> PushResult:
    """Create the Space (Gradio SDK) if needed and upload the changed files of ``folder``.

    Raises:
        InputError: ``folder`` is not a Space folder.
        ConfigError: invalid repo id or no token (from ``push_folder``).
    """
    from hfswim.hub.upload import push_folder, validate_repo_id

    validate_repo_id(repo_id)
    folder = Path(folder)
    sdk_app = check_space_folder(folder)
    from huggingface_hub import SpaceCard

    return push_folder(
        folder,
        repo_id,
        repo_type="space",
        space_sdk=SpaceCard.load(folder / "README.md").data.sdk or "gradio",
        private=private,
        revision=revision,
        commit_message=commit_message or f"Upload Space ({sdk_app}, index, model) with hfswim",
        token=token,
        api=api,
        prune=("index/", "model/", "hfswim/"),
    )
