"""Push a local folder (a dataset or model repo) to the Hugging Face Hub, uploading only what changed.

One library call does the transfer: :meth:`huggingface_hub.HfApi.upload_folder`, with arguments that exist
unchanged from huggingface_hub 1.0 (the declared floor; ``tests/hub`` binds every call against the installed
``HfApi`` and passes at 1.0.0, see ``benchmarks/lowest_dependencies.py``). What the call does underneath
depends on the version:

* huggingface_hub 2.x with ``hf_xet`` (the default install): files are streamed, a large folder is split into
  several commits, and re-running after an interruption resumes (``upload_large_folder`` is gone: this call
  is the resumable one).
* huggingface_hub 1.x: one commit. An interrupted push commits nothing, so the re-run sends the same change
  list again; the LFS/Xet storage skips file contents it already received, and the commit itself is small
  (a dataset build is tens of shards, far below the Hub's per-commit limits).

Either way hfswim needs no retry loop or second code path for big folders.

Before that call, :func:`push_folder` compares the local files with the remote tree
(``list_repo_tree``: git blob sha1 for small files, LFS sha256 for large ones) and passes only the
changed files as ``allow_patterns``. That makes two promises cheap and explicit:

* pushing the same folder again makes no upload call at all (a no-op, not an empty commit);
* adding one language re-uploads that language's shards and the card, not the other languages.

Files removed locally under ``prune`` prefixes (e.g. stale shards of a rebuilt language) are deleted
remotely in the same commit, so the Hub never serves a mix of an old and a new build.

The token comes from ``token=``, else ``HF_TOKEN`` / ``hf auth login`` (:func:`huggingface_hub.get_token`).
It is handed to the library only: never logged, printed or written into a file.

Example (offline: a recording stand-in for HfApi shows the calls a push makes)::

    >>> import tempfile, pathlib
    >>> from hfswim.hub.upload import push_folder
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "README.md").write_text("# hello")
    >>> class Api:  # records calls; a new, empty repo
    ...     calls = []
    ...     def create_repo(self, repo_id, **kw): self.calls.append("create_repo"); return f"https://hf.co/{repo_id}"
    ...     def list_repo_tree(self, repo_id, **kw): return []
    ...     def upload_folder(self, **kw): self.calls.append(("upload_folder", kw["allow_patterns"])); return None
    >>> result = push_folder(folder, "me/demo", api=Api(), token="hf_x")
    >>> result.uploaded, Api.calls
    (['README.md'], ['create_repo', ('upload_folder', ['README.md'])])
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hfswim.errors import ConfigError, EndpointError, InputError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

logger = logging.getLogger(__name__)

RepoType = Literal["dataset", "model", "space"]
DEFAULT_BRANCH = "main"
# Hidden files are local state: temporary shards of a build in progress, caches, .git.
HIDDEN_PATTERNS = (".*", "*/.*")
_HASH_CHUNK = 1 << 20


@dataclass
class PushResult:
    """What a push did.

    Attributes:
        repo_id: the full repo id as the Hub resolved it (``namespace/name``).
        repo_type: ``"dataset"``, ``"model"`` or ``"space"``.
        revision: the branch pushed to.
        repo_url: the repo's web address.
        uploaded: repo paths sent in this push (new or changed files).
        unchanged: repo paths already on the Hub with identical content (not sent).
        deleted: remote paths removed because they no longer exist locally (under ``prune``).
        commit_url: the last commit's address, or ``None`` when nothing changed (no call was made).
        commit_oid: the last commit's sha, or ``None`` when nothing changed.
    """

    repo_id: str
    repo_type: str
    revision: str
    repo_url: str
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    commit_url: str | None = None
    commit_oid: str | None = None

    @property
    def changed(self) -> bool:
        """True when the push created a commit."""
        return bool(self.uploaded or self.deleted)

    def summary(self) -> str:
        """One line for the console: what was sent, deleted and kept, and where."""
        if not self.changed:
            return f"{self.repo_id}@{self.revision}: already up to date ({len(self.unchanged)} files); nothing pushed."
        kind = "Space " if self.repo_type == "space" else ""
        return (
            f"Pushed {len(self.uploaded)} file(s), deleted {len(self.deleted)}, kept {len(self.unchanged)} unchanged "
            f"to {kind}{self.repo_id}@{self.revision}: {self.commit_url or self.repo_url}"
        )


def validate_repo_id(repo_id: str) -> None:
    """Check a repo id with huggingface_hub's own validator; raise :class:`ConfigError` if invalid."""
    from huggingface_hub.utils import HFValidationError
    from huggingface_hub.utils import validate_repo_id as _validate

    try:
        _validate(repo_id)
    except HFValidationError as err:
        raise ConfigError(f"invalid Hub repo id {repo_id!r}: {err}") from None


def resolve_token(token: str | None = None) -> str:
    """The token to push with: ``token``, else HF_TOKEN / the one saved by ``hf auth login``."""
    from huggingface_hub import get_token

    resolved = token or get_token()
    if not resolved:
        raise ConfigError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access).")
    return resolved


def check_hub_reachable() -> None:
    """Refuse to push in offline mode, before any long build: one line instead of huggingface_hub's error."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise ConfigError("cannot push to the Hub: offline mode is on (HF_HUB_OFFLINE=1); unset it to push.")


_NETWORK_MODULES = ("httpx", "httpcore", "requests", "urllib3", "aiohttp", "ssl")


@contextlib.contextmanager
def hub_errors(repo_id: str) -> Iterator[None]:
    """Turn the Hub's HTTP and network errors during a push into one EndpointError naming the repo and endpoint."""
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError

    where = f"{constants.ENDPOINT}: pushing {repo_id}"
    try:
        yield
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        hint = {
            401: "; the token is invalid or expired (HF_TOKEN or `hf auth login`)",
            403: "; the token cannot write to this repo (a write token, and a namespace you belong to?)",
        }.get(status, "; rerun to resume" if status is None or status == 429 or status >= 500 else "")
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EndpointError(f"{where} failed (HTTP {status}: {detail}){hint}.") from None
    except Exception as err:
        network = isinstance(err, (ConnectionError, TimeoutError)) or type(err).__module__.split(".")[0].startswith(
            _NETWORK_MODULES
        )
        if not network:
            raise
        detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise EndpointError(
            f"{where}: cannot reach the Hub ({type(err).__name__}: {detail}); "
            "check the network, HF_ENDPOINT and proxy settings, then rerun to resume."
        ) from None


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file (what the Hub reports as ``blob_id`` for non-LFS files)."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file (what the Hub reports as the LFS oid of large files)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def local_files(folder: Path) -> list[str]:
    """Repo paths (posix, relative) of the files to push: everything but hidden files and folders."""
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                paths.append((Path(root) / name).relative_to(folder).as_posix())
    return sorted(paths)


def same_content(local: Path, remote: Any) -> bool:
    """Whether a local file equals a remote ``RepoFile`` (size first, then the hash the Hub stores)."""
    if getattr(remote, "size", None) != local.stat().st_size:
        return False
    lfs = getattr(remote, "lfs", None)
    if lfs is not None:
        return file_sha256(local) == lfs.sha256
    return git_blob_sha1(local) == remote.blob_id


def _glob_literal(path: str) -> str:
    """A fnmatch pattern matching exactly ``path`` (huggingface_hub filters with fnmatch)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def _remote_files(api: HfApi, repo_id: str, repo_type: str, revision: str, token: str | None) -> dict[str, Any]:
    from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError

    try:
        tree = api.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type=repo_type, token=token)
        return {entry.path: entry for entry in tree if hasattr(entry, "blob_id")}
    except (EntryNotFoundError, RevisionNotFoundError):  # an empty repo or branch
        return {}


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    repo_type: RepoType = "dataset",
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
    api: HfApi | None = None,
    prune: tuple[str, ...] = (),
    space_sdk: str | None = None,
) -> PushResult:
    """Create the repo if needed and push the changed files of ``folder`` with one resumable upload.

    Args:
        folder: the local repo folder (its layout is the repo's layout).
        repo_id: ``"namespace/name"`` or ``"name"`` (the token's user namespace).
        repo_type: ``"dataset"`` (default), ``"model"`` or ``"space"``.
        private: create the repo private (an existing repo keeps its visibility).
        revision: the branch to push to; created from ``main`` if missing. Default: ``main``.
        commit_message: the commit title; default ``"Upload <folder name> with hfswim"``.
        token: a Hub token; default HF_TOKEN / ``hf auth login``. Never logged.
        api: an :class:`~huggingface_hub.HfApi` to use (e.g. another endpoint); default a new one.
        prune: repo path prefixes (e.g. ``("data/",)``) whose remote files missing locally are deleted.
        space_sdk: the SDK of a new Space (``"gradio"``, ``"docker"``, ``"static"``); the Hub requires one.

    Returns:
        A :class:`PushResult`; ``result.changed`` is False when the Hub already had this exact folder.

    Raises:
        ConfigError: invalid repo id, missing token.
        InputError: the folder is missing or empty.
    """
    validate_repo_id(repo_id)
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder to push.")
    paths = local_files(root)
    if not paths:
        raise InputError(f"{root}: the folder holds no file to push.")
    if api is None:
        from huggingface_hub import HfApi

        token = resolve_token(token)
        check_hub_reachable()
        api = HfApi()
    with hub_errors(repo_id):
        return _push(api, root, paths, repo_id, repo_type, private, revision, commit_message, token, prune, space_sdk)


def _push(
    api: Any,
    root: Path,
    paths: list[str],
    repo_id: str,
    repo_type: RepoType,
    private: bool,
    revision: str | None,
    commit_message: str | None,
    token: str | None,
    prune: tuple[str, ...],
    space_sdk: str | None,
) -> PushResult:
    branch = revision or DEFAULT_BRANCH
    create = {"space_sdk": space_sdk or "gradio"} if repo_type == "space" else {}
    repo_url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, token=token, **create)
    # RepoUrl carries the resolved "namespace/name" when the user gave a bare name.
    full_id = getattr(repo_url, "repo_id", None) or repo_id
    if branch != DEFAULT_BRANCH and not branch.startswith("refs/"):
        api.create_branch(full_id, branch=branch, repo_type=repo_type, exist_ok=True, token=token)

    remote = _remote_files(api, full_id, repo_type, branch, token)
    uploaded, unchanged = [], []
    for path in paths:
        entry = remote.get(path)
        (unchanged if entry is not None and same_content(root / path, entry) else uploaded).append(path)
    local = set(paths)
    deleted = sorted(
        p for p in remote if p not in local and any(p.startswith(prefix) for prefix in prune) and p != ".gitattributes"
    )
    result = PushResult(
        repo_id=full_id,
        repo_type=repo_type,
        revision=branch,
        repo_url=str(repo_url),
        uploaded=uploaded,
        unchanged=unchanged,
        deleted=deleted,
    )
    if not result.changed:
        logger.info("%s: the Hub already has this exact folder; nothing to push.", full_id)
        return result

    info = api.upload_folder(
        repo_id=full_id,
        folder_path=str(root),
        repo_type=repo_type,
        revision=branch,
        commit_message=commit_message or f"Upload {root.name} with hfswim",
        allow_patterns=[_glob_literal(p) for p in uploaded],
        ignore_patterns=list(HIDDEN_PATTERNS),
        delete_patterns=[_glob_literal(p) for p in deleted] or None,
        token=token,
    )
    result.commit_url = getattr(info, "commit_url", None)
    result.commit_oid = getattr(info, "oid", None)
    return result
