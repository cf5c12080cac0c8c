"""One exception type for every user-facing failure.

The CLI turns a `GanStudyError` into a single line on stderr and exit status 2, so a PhD student sees
what is wrong and how to fix it instead of a traceback.
"""


class GanStudyError(Exception):
    """A failure caused by input or environment, with a message that names the fix."""
