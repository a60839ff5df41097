"""`python -m artifact <verb>`: a thin command line over the package. The Makefile wraps every verb.

Exit codes: 0 done and no FAIL; 1 a diff, claim or verification FAILed; 2 usage or setup error (one sentence on
stderr that says what to do); 3 a bug (an exception nothing expected: one sentence, the traceback saved to a file
to report); 130 interrupted (Ctrl-C: what is finished is kept, the same command continues).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import __version__
from ..base import catalog, liblog
from ..base.errors import ArtifactError
from ..base.settings import load as load_settings
from . import evaluate, hub, models, sweep, tables

EPILOG = """examples:
  python -m artifact table table3                 # replay Table 3 from the published scores, diff vs the paper
  python -m artifact tables                       # every table and figure: the replay job
  python -m artifact models --filter method=gptq bits=4
  python -m artifact rebuild smollm2-135m-instruct-gptq-4bit-s0        # the demo model, on a CPU
  python -m artifact rebuild llama-2-13b-chat-wanda-2to4 --dry-run     # the plan of a 13B rebuild
  python -m artifact pull llama-2-13b-chat-gptq-4bit-s0 --dry-run      # what a pull would fetch
  python -m artifact push smollm2-135m-instruct-wanda-2to4-s0 --repo me/smol-wanda --dry-run
  python -m artifact verify                       # re-hash the whole store
  python -m artifact eval smollm2-135m-instruct --perspective all --limit 5   # score the embedded model
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one sentence on stderr and exit 2, like every other bad input."""

    def error(self, message: str):
        print(f"error: {message}; `{self.prog} --help` lists the options", file=sys.stderr)
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m artifact", description="Reproduce 'Decoding Compressed Trust' (Hong "
                                "et al., ICML 2024): its models, its tables, and a diff against the paper.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"comp-trust-artifact {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    for module in (tables, models, hub, evaluate, sweep):
        module.register(sub, EPILOG)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # --help (0), or a bad argument already said in one sentence (2)
        return e.code if isinstance(e.code, int) else 2
    from ..base.settings import quiet_libraries
    quiet_libraries()
    code = _run(args)
    written = liblog.detach()
    if written and code in (0, 1):  # an error stays one sentence; its log is in the same folder
        print(f"(the libraries' messages: {written})", file=sys.stderr)
    return code


def _run(args) -> int:
    try:
        settings = load_settings()
        catalog.use(settings)  # your models (<ARTIFACT_RECIPES>/models/, hf:..., folders) beside the paper's
        from ..base.results import Layout
        liblog.to_file(Layout(settings.results).logs, args.verb, settings.verbose)
        liblog.console(settings.verbose)
        return args.func(args, settings)
    except ArtifactError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # `... | head`
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: what was finished is kept; run the same command again to continue", file=sys.stderr)
        return 130
    except OSError as e:  # a read-only or full disk, a path that is a file: one sentence, exit 2 (1 means a FAIL)
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}; check that the path exists and is a writable folder with free space",
              file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - the last edge: never a bare traceback, never exit 1 (which means FAIL)
        # a library's own error for a full disk (safetensors: SafetensorError "... (os error 28)") is still that; by
        # the time it arrives here the staging folder is gone, so its words are read, not only the free space
        full = _full_disk() or _no_space(e)
        if full:
            print(f"error: {type(e).__name__} with {full}; free space (or point the folder elsewhere) and rerun: what "
                  "was finished is kept", file=sys.stderr)
            return 2
        # every value a user gives, file this project reads and answer a service sends is checked where it enters
        # and refused as an ArtifactError (exit 2); an exception that arrives here, a ValueError included, is a bug
        saved = _save_traceback()
        print(f"error: {type(e).__name__}: {str(e)[:300]}; this is a bug in comp-trust-artifact: please report it "
              f"(traceback in {saved})", file=sys.stderr)
        return 3


NO_SPACE = {28: "no space left on the device", 122: "the disk quota is exceeded",
            27: "a file grew too large for the file system or its size limit"}


def _no_space(err: BaseException) -> str | None:
    """What ran out, where an exception (or one it wraps) is an OS write error for space: ENOSPC, EDQUOT, EFBIG, as
    an OSError or in a library's message ("... (os error 28)")."""
    import re
    seen = 0
    while err is not None and seen < 8:
        code = err.errno if isinstance(err, OSError) else None
        match = re.search(r"os error (\d+)", str(err))
        code = code or (int(match.group(1)) if match else None)
        if code in NO_SPACE:
            return NO_SPACE[code]
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None


def _full_disk() -> str | None:
    """The store or results folder when its file system has (almost) no space left, else None."""
    import shutil
    try:
        settings = load_settings()
        folders = [settings.store, settings.results]
    except Exception:  # noqa: BLE001 - only a hint for an error already being reported
        return None
    for folder in folders:
        probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if probe is not None and shutil.disk_usage(probe).free < 64 * 2 ** 20:
            return f"{folder} full"
    return None


def _save_traceback() -> str:
    import tempfile
    import traceback
    path = Path(tempfile.gettempdir()) / f"comp-trust-artifact-error-{os.getpid()}.txt"
    try:
        path.write_text(" ".join(sys.argv) + "\n\n" + traceback.format_exc(), encoding="utf-8")
    except OSError:
        return "(not saved: the temporary folder is not writable)"
    return str(path)
