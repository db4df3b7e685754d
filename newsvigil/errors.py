"""The one error type users see: a readable message naming what was wrong, plus a hint."""


class UserError(Exception):
    """Bad input or environment, reported to the user as one line and a hint, never a traceback."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message
