"""Every option of a grading, declared once with its default and its description.

The command line builds its flags from these declarations (``add_arguments``), the batch, the
Dask workers and the Gradescope entry point pass a ``GradeOptions`` along, and the pipeline
resolves it once at the start of a grading (device, sandbox, hidden paths).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .sandbox.config import MODES as SANDBOX_MODES
from .sandbox.limits import Limits

DEVICES = ("auto", "cpu", "gpu")


def option(default, help: str, flag: str | None = None, **argparse_kwargs):
    """A dataclass field carrying its command-line flag (None: not a flag) and description."""
    return field(default=default, metadata={"help": help, "flag": flag, "argparse": argparse_kwargs})


@dataclass(frozen=True)
class GradeOptions:
    sandbox: str = option("auto", "how student code is isolated (auto: bubblewrap when it works here, "
                          "else basic)", flag="--sandbox", choices=SANDBOX_MODES)
    device: str = option("auto", "run student code on a CUDA GPU through CuPy, or on the CPU with NumPy "
                         "(auto: the GPU when there is one)", flag="--device", choices=DEVICES)
    seed: int = option(20261126, "grading seed: fixes the random inputs of public tests (hidden tests "
                       "also use the course secret)", flag="--seed", type=int)
    assignment_budget: float = option(300.0, "wall-clock seconds of student code per assignment; past "
                                      "it the assignment's remaining tests fail", flag="--budget", type=float,
                                      metavar="SECONDS")
    submission_budget: float = option(1200.0, "wall-clock seconds of student code per submission")
    memory_bytes: int = option(Limits.memory_bytes, "memory per sandbox, bytes (all pages the kernel counts)")
    public_only: bool = option(False, "self-check: public tests only")
    keyword: str | None = option(None, "pytest -k expression: grade only the matching tests")
    outputs: tuple[str, ...] = option((), "folders the grader writes to: hidden from student code")

    def with_outputs(self, *paths: Path | str) -> "GradeOptions":
        """These options, with `paths` added to the folders hidden from student code."""
        resolved = [str(Path(p).resolve()) for p in paths]
        return replace(self, outputs=tuple(dict.fromkeys((*self.outputs, *resolved))))

    def hidden_paths(self, course_root: Path) -> tuple[str, ...]:
        """What must not exist for student code: the course (solutions/, hidden tests, the
        secret) and every folder the grader writes to. The one place this list is built."""
        return tuple(dict.fromkeys((str(course_root), *self.outputs)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every option declared with one."""
    for spec in fields(GradeOptions):
        flag = spec.metadata.get("flag")
        if flag:
            parser.add_argument(flag, dest=spec.name, default=spec.default, help=spec.metadata["help"],
                                **spec.metadata["argparse"])


def from_arguments(args: argparse.Namespace, **overrides) -> GradeOptions:
    """The options given on the command line (declared defaults for the rest)."""
    given = {spec.name: getattr(args, spec.name) for spec in fields(GradeOptions)
             if spec.metadata.get("flag") and hasattr(args, spec.name)}
    return GradeOptions(**{**given, **overrides})


def from_environment(environ, **overrides) -> GradeOptions:
    """Options from GRADER_<NAME> variables (Gradescope's run_autograder has no command line)."""
    given = {}
    for spec in fields(GradeOptions):
        value = environ.get(f"GRADER_{spec.name.upper()}")
        if spec.metadata.get("flag") and value:
            given[spec.name] = spec.metadata["argparse"].get("type", str)(value)
    return GradeOptions(**{**given, **overrides})
