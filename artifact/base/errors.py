"""Typed errors. Every one is a one-sentence message that says what to do; the CLI prints it and exits 2."""
from __future__ import annotations

import difflib
from pathlib import Path


class ArtifactError(Exception):
    """Usage or setup error: the CLI prints the message and exits with `exit_code`."""

    exit_code = 2

    def __reduce__(self):
        """Picklable whatever its __init__ takes: a build's child process hands its error back (compress/pinned.py)."""
        return _unpickled, (type(self), self.args, dict(self.__dict__))


def _unpickled(cls, args, state):
    err = cls.__new__(cls, *args)
    err.args = args
    err.__dict__.update(state)
    return err


class UnknownNameError(ArtifactError):
    """A name (model, table, perspective, ...) that is not known; the message suggests the closest ones."""

    kind = "name"
    list_hint = ""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.suggestions = difflib.get_close_matches(name, list(dict.fromkeys(known)), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        listed = self.list_hint.format(known=", ".join(dict.fromkeys(known)))
        super().__init__(f"unknown {self.kind} {name!r}{hint} ({listed})")


class UnknownModelError(UnknownNameError):
    kind = "model"
    list_hint = "`make models` lists every catalog id; MODEL=hf:<org>/<name> or a folder path takes any other model"


class UnknownTableError(UnknownNameError):
    kind = "table"
    list_hint = "`make help` lists the tables and figures"


class BadInputError(ArtifactError):
    """A command-line value that cannot work (LIMIT=0, PROMPTS=..., an empty PERSPECTIVE); says which values can."""


class HubError(ArtifactError):
    """A Hub request that failed (refused token, gated or missing repo, unreachable endpoint); the message says
    what to do."""


class HubNotFoundError(HubError):
    """The Hub has no such repository (or the token cannot see it): a caller may try another spelling."""


class RevisionNotFoundError(HubError):
    """The repository exists but has no such branch, tag or commit (a pinned commit can vanish when history is
    rewritten)."""


class NotInStoreError(ArtifactError):
    """A model the command needs is not in the model store; says how to put it there."""

    def __init__(self, name: str, store, how: str = "pull", what: str = "", extra: str = ""):
        self.name = name
        make = f"`make pull MODEL={name}`" + (f" or `make rebuild MODEL={name}`" if how == "rebuild" else "")
        super().__init__(f"{what or ''}{name} is not in the store {store}; run {make} first{extra}")


class FileFormatError(ArtifactError):
    """A data or recipe file that cannot be used as written; names the file and, where known, the line."""

    def __init__(self, path: Path | str, line: int | None, problem: str, fix: str | None = None):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}; {_restore(path, fix)}")


def _restore(path: Path | str, fix: str | None = None) -> str:
    """The fix for a damaged file: git restores the repository's own files; anything else is rewritten by the
    command that made it, or (`fix`) mended by hand, as a user's own recipe is."""
    from .settings import ROOT
    p = Path(path).resolve()
    tracked = p.is_relative_to(ROOT) and p.relative_to(ROOT).parts[:1] not in (("results",), (".venv",), ("logs",))
    if tracked:
        return f"fix the file or restore it with `git checkout -- {path}`"
    return fix or "fix or delete the file, then rerun the command that wrote it"


class ChecksumMismatchError(FileFormatError):
    """Bytes that do not match their recorded sha256 or git blob id (a download, a store file, a data file, a
    classifier). The fix is to get the right bytes again — pull, fetch or place them anew — never a git command."""

    def __init__(self, path: Path | str, problem: str, fix: str):
        self.path, self.line = str(path), None
        ArtifactError.__init__(self, f"{path}: {problem}; {fix}")


class UnknownPerspectiveError(UnknownNameError):
    kind = "perspective"
    list_hint = "use one of {known}"  # the evaluation registry's names, and all


class BusyError(ArtifactError):
    """Another live run holds the lock on what this command would write (a model, an evaluation folder); the
    message names it."""
