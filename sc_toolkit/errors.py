"""Every error a user can see.

An :class:`SctkError` carries what is wrong, where (a file, a recipe key, a row) and a hint
that says what to do. The CLI prints it as one line and exits with :attr:`exit_code`:
2 for bad input (recipes, data, formulas, parameters), 1 for a step that failed while running,
130 for a run stopped by Ctrl-C (:class:`Interrupted`).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass


class SctkError(Exception):
    """Base of all expected errors: a message, an optional location and an optional hint."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def one_line(self) -> str:
        """The error as a single line: ``where: message (hint: ...)``."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} (hint: {self.hint})" if self.hint else text

    def __str__(self) -> str:
        return self.one_line()


class UserError(SctkError):
    """Bad input: a recipe, a parameter, a file or a command-line value. Exit code 2."""


class FormulaError(UserError):
    """A chemical formula that cannot be parsed."""


class DataError(UserError):
    """A dataset that is missing, corrupt or unreadable."""


class PluginError(UserError):
    """A plugin that broke a registration rule, or a component that is not registered."""


class StepError(SctkError):
    """A step that failed while running (training diverged, out of memory, ...). Exit code 1."""

    exit_code = 1


class Interrupted(SctkError):
    """A command stopped by Ctrl-C (SIGINT). Exit code 130; a run keeps what it computed."""

    exit_code = 130


#: What to do about an operating-system error, by errno.
_OS_HINTS = {
    errno.ENOSPC: "free some disk space",
    errno.EDQUOT: "free some disk space (quota exceeded)",
    errno.EACCES: "check the permissions of the folder, or choose another one",
    errno.EPERM: "check the permissions of the folder, or choose another one",
    errno.EROFS: "the file system is read-only: choose another folder",
    errno.ENAMETOOLONG: "use a shorter file name",
    errno.ENOENT: "check the path; create the folder first",
    errno.ENOTDIR: "check the path: a part of it is a file, not a folder",
    errno.EISDIR: "give a file name, not a folder",
}


def os_problem(error: OSError) -> tuple[str, str]:
    """(message, hint) for an operating-system error: what failed, the file it failed on, and what
    to do (free space, permissions, a shorter name, ...)."""
    reason = error.strerror or str(error) or type(error).__name__
    path = error.filename if error.filename is not None else None
    message = f"{reason}: {path}" if path is not None else reason
    return message, _OS_HINTS.get(error.errno, "check the path and the disk")


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a recipe."""

    where: str
    message: str
    hint: str | None = None

    def one_line(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class RecipeError(UserError):
    """A recipe with one or more problems; all of them are reported at once."""

    def __init__(self, problems: list[Problem], *, source: str | None = None):
        self.problems = problems
        self.source = source
        count = len(problems)
        summary = f"{count} problem{'s' if count != 1 else ''} in recipe"
        super().__init__(summary, where=source, hint="fix the lines above, then run `sctk check` again")

    def lines(self) -> list[str]:
        """One line per problem, prefixed by the recipe file when known."""
        prefix = f"{self.source}: " if self.source else ""
        return [prefix + p.one_line() for p in self.problems]


def did_you_mean(word: str, choices) -> str | None:
    """A hint naming the closest of ``choices`` to ``word``, or listing them when none is close."""
    import difflib

    choices = sorted(set(choices))
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if choices and len(choices) <= 12:
        return "expected one of: " + ", ".join(choices)
    return None
