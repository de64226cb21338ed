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
