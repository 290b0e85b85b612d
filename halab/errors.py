"""One exception type for every failure a user can cause or fix.

The CLI prints a HalabError as one line and exits non-zero; anything else is a bug.
"""


class HalabError(Exception):
    """A problem with a clear, one-line explanation for the user."""


class SpecError(HalabError):
    """A lab spec file is malformed; the message names the file, the field and the problem."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = path
        self.field = field
        self.problem = problem
