"""Reading raw form values that the views do not pass through a Django form.

A browser only ever sends the ids the page offered, but a hand-made or replayed POST can send anything: ``"1.5"``,
``" "``, ``"٣"`` or a number wider than the database's integer. Looking such a value up raises (``ValueError`` from
the ORM, ``OverflowError`` from SQLite, ``DataError`` from PostgreSQL), which was a server error. :func:`posted_id`
turns anything that is not a plausible primary key into ``None``, so the view refuses it in words.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # the widest primary key either database stores


def posted_whole(raw: str | None) -> int | None:
    """A whole number (0 included) written in ASCII digits and small enough for either database, else ``None``.

    ``str.isdigit`` alone is not enough: it is true for "²" and "٣", which ``int`` then refuses or reads."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def posted_id(raw: str | None) -> int | None:
    """A positive whole number written in ASCII digits and small enough to be an id, else ``None``."""
    value = posted_whole(raw)
    return value if value else None
