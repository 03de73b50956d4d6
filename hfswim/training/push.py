"""Push a trained model folder and its card to the Hub (``hfswim push-model``).

The transfer is :func:`hfswim.hub.upload.push_folder` (the push-dataset rules: same token
resolution, only changed files uploaded, no commit when nothing changed). Before it, the card
gets the repo id in its usage snippet and optional evaluation results as ``model-index``; the
trainer's ``checkpoints/`` stay local (they are large and only useful for ``--resume``).

Example (offline: a recording stand-in for ``HfApi``)::

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text("{}")
    >>> _ = (folder / "README.md").write_text("---\\nlicense: apache-2.0\\n---\\nmodel = X(\\"path/to/model\\")\\n")
    >>> (folder / "checkpoints" / "checkpoint-5").mkdir(parents=True)
    >>> _ = (folder / "checkpoints" / "checkpoint-5" / "optimizer.pt").write_text("big")
    >>> class Api:
    ...     def create_repo(self, repo_id, **kw): return f"https://hf.co/{repo_id}"
    ...     def list_repo_tree(self, repo_id, **kw): return []
    ...     def upload_folder(self, **kw): print(kw["allow_patterns"])
    >>> _ = push_model_folder(folder, "me/model", api=Api(), token="hf_x")
    ['README.md', 'config.json']
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hfswim.errors import InputError

if TYPE_CHECKING:
    from huggingface_hub import EvalResult, HfApi

    from hfswim.hub.upload import PushResult

# Training state that must not reach the Hub: checkpoints are large and local.
EXCLUDED_FROM_PUSH = ("checkpoints",)


def stage_model_folder(folder: Path, staging: Path) -> list[str]:
    """Symlink the files to push into ``staging``: everything but checkpoints and hidden files."""
    staged = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or rel.parts[0] in EXCLUDED_FROM_PUSH or any(p.startswith(".") for p in rel.parts):
            continue
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
        staged.append(rel.as_posix())
    return staged


def push_model_folder(
    folder: str | Path,
    repo_id: str,
    *,
    eval_results: list[EvalResult] | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    api: HfApi | None = None,
) -> PushResult:
    """Update the card (repo id, model-index) and push ``folder`` without its checkpoints.

    Raises:
        InputError: ``folder`` is not a model folder.
        ConfigError: invalid repo id or no token (from ``push_folder``).
    """
    from hfswim.hub.upload import push_folder, validate_repo_id
    from hfswim.training.model_card import update_model_card

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder}: not a model folder (no config.json); give the --output of `hfswim train`.")
    validate_repo_id(repo_id)
    if (folder / "README.md").is_file():
        update_model_card(folder / "README.md", repo_id=repo_id, eval_results=eval_results)
    elif eval_results:
        raise InputError(f"{folder}: no README.md to add evaluation results to.")
    with tempfile.TemporaryDirectory(prefix="hfswim-push-") as staging:
        stage_model_folder(folder, Path(staging))
        return push_folder(
            staging,
            repo_id,
            repo_type="model",
            private=private,
            revision=revision,
            commit_message=commit_message or f"Upload {folder.resolve().name} with hfswim",
            token=token,
            api=api,
        )
