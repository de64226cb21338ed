"""The one error type a user can fix: it says what is wrong and where."""

from __future__ import annotations

from collections.abc import Iterator


class InputError(Exception):
    """A problem with the user's input (file, column, option). The CLI exits 1; the UI shows st.error."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def terminal_text(text: str) -> str:
    """text as a terminal may show it: every character that is not printable (control characters such as ESC,
    which start the terminal's escape sequences, carriage returns and newlines that forge lines, bidirectional
    overrides that reorder what follows) written as its Python escape. File names, column names and option values
    come from the user and reach the CLI's messages."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def chain_of(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception behind it (its cause, the one it was raised while handling, and the `cause` that
    Ray's errors carry), each once: a chain can loop."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [getattr(current, "cause", None), current.__cause__, current.__context__]
