"""The libraries' output goes to a log file; the terminal shows the artifact's own lines and its progress bars.

The artifact's modules log through `logging.getLogger(__name__)`; `console()` puts their lines on stdout.

torch, torchao, transformers and huggingface_hub log through Python's logging (torch and transformers with handlers
of their own that write to the terminal), Python's warnings print there too, and transformers draws a bar for every
model it loads: most of a `make demo` log was theirs. `to_file()`, called once at the command line's edge, sends
every library logger and every warning to `<results>/logs/<verb>-<time>-<pid>.log` (created only when something is
written: `path_if_written()` says where, and the CLI prints it once at the end) and turns transformers' loading bars
off. torch and transformers install their handlers when they are imported, which happens later and lazily, so a
hook on their import re-routes them right after. `VERBOSE=1` (settings.verbose) keeps everything on the terminal as
well.
"""
from __future__ import annotations

import importlib.abc
import logging
import os
import sys
import time
from pathlib import Path

_handler: logging.FileHandler | None = None


ENV = "ARTIFACT_LIBRARY_LOG"  # a child process of this one (a build on the fixed kernel path) writes here too


def to_file(folder: Path, verb: str, verbose: bool = False) -> Path:
    """Route library logging and warnings into a new log file under `folder`; its path (it may stay unwritten)."""
    return attach(folder / f"{verb}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}.log", verbose)


def attach(path: Path, verbose: bool = False) -> Path:
    """Route library logging and warnings into `path` (appended to), from now on."""
    global _handler
    root = _unroute()  # a second command in one process (the tests) starts over
    os.environ[ENV] = str(path)
    level = _handler.root_level if _handler is not None else root.level  # put back by detach()
    _handler = _LazyFile(path)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(_handler)
    _handler.root_level = level
    root.setLevel(logging.WARNING)  # warnings and errors; the HTTP clients never log a request line (settings.QUIET)
    if verbose:  # the terminal too, as before
        terminal = logging.StreamHandler()
        terminal._liblog = True
        terminal.addFilter(lambda record: record.name.partition(".")[0] not in _AFTER_IMPORT)  # they print themselves
        terminal.setLevel(logging.WARNING)
        root.addHandler(terminal)
    else:
        logging.captureWarnings(True)  # warnings.warn -> the "py.warnings" logger -> the file
    for name in _AFTER_IMPORT:
        if name in sys.modules:
            _reroute(name, verbose)
        else:
            sys.meta_path.insert(0, _AfterImport(name, verbose))
    return path


class _Stdout(logging.Handler):
    """The artifact's own lines on whatever sys.stdout is when they are written, as print wrote them (a closed pipe
    still raises BrokenPipeError, which the CLI answers)."""

    def emit(self, record):
        sys.stdout.write(self.format(record) + "\n")
        sys.stdout.flush()


def console(verbose: bool = False) -> None:
    """The artifact's modules log through `logging.getLogger(__name__)` (under "artifact"): their INFO lines on
    stdout, DEBUG too with VERBOSE=1; without this (the package used as a library) they go where logging sends them."""
    logger = _quiet_console()
    handler = _Stdout()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def path_if_written() -> Path | None:
    """The log file, if anything was written to it."""
    if _handler is None or not _handler.path.is_file() or not _handler.path.stat().st_size:
        return None
    return _handler.path


def detach() -> Path | None:
    """Close the log file (the command is over); its path if anything was written to it."""
    global _handler
    written = path_if_written()
    root = _unroute()
    if _handler is not None:
        _handler.close()
        root.setLevel(_handler.root_level)
        _handler = None
    logging.captureWarnings(False)
    ours = _quiet_console()
    ours.propagate, ours.level = True, logging.NOTSET
    return written


def _unroute() -> logging.Logger:
    """The root logger without this module's handlers, and no import hook of this module pending."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h is _handler or getattr(h, "_liblog", False):
            root.removeHandler(h)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterImport)]
    return root


def _quiet_console() -> logging.Logger:
    """The "artifact" logger without its stdout handler."""
    logger = logging.getLogger("artifact")
    for h in list(logger.handlers):
        if isinstance(h, _Stdout):
            logger.removeHandler(h)
    return logger


def _torch(verbose: bool) -> None:
    """torch's logger has a terminal handler of its own and does not propagate: into the file instead."""
    logger = logging.getLogger("torch")
    if not verbose:
        for h in list(logger.handlers):
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                logger.removeHandler(h)
    logger.propagate = True


def _transformers(verbose: bool) -> None:
    """transformers' too; and its bar for every model it loads goes."""
    from transformers.utils import logging as tf_logging
    if not verbose:
        import huggingface_hub.utils as hub_utils
        tf_logging.disable_default_handler()
        tf_logging.disable_progress_bar()  # "Loading weights" for every model loaded
        hub_utils.enable_progress_bars()  # a download keeps its bar
    tf_logging.enable_propagation()


def _logbar(verbose: bool) -> None:
    """gptqmodel's logger (LogBar) prints rather than logs, a banner and advice at every import: held at ERROR."""
    if not verbose:
        from logbar import LogBar
        LogBar.shared().setLevel(logging.ERROR)


# what to do right after each library is imported (before anything it imports next can print)
_AFTER_IMPORT = {"torch": _torch, "transformers": _transformers, "logbar": _logbar}


def _reroute(name: str, verbose: bool) -> None:
    _AFTER_IMPORT[name](verbose)


class _LazyFile(logging.FileHandler):
    """A FileHandler whose folder and file appear with the first record."""

    def __init__(self, path: Path):
        self.path, self.unwritable = path, False
        super().__init__(path, encoding="utf-8", delay=True)

    def emit(self, record):
        if self.stream is None and not self.unwritable:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.stream = self._open()
            except OSError:  # a read-only results folder: the terminal, as before, rather than a logging error
                self.unwritable = True
        if self.unwritable:
            sys.stderr.write(self.format(record) + "\n")
            return
        super().emit(record)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs `_reroute(name)` right after the top-level package `name` has been imported."""

    def __init__(self, name: str, verbose: bool):
        self.name, self.verbose = name, verbose

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec
        spec = find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, name, verbose = spec.loader, self.name, self.verbose

        class _Then(importlib.abc.Loader):
            def __getattr__(self, item):  # resource readers and the rest: the real loader's
                return getattr(loader, item)

            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                _reroute(name, verbose)

        spec.loader = _Then()
        return spec
