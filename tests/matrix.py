"""What the authorization matrices share: the answers seen, held against the table."""

from __future__ import annotations

import os


def check_table(seen: dict[str, str], expected: dict[str, str], what: str) -> None:
    """Every ``what`` (routes, operations) has a row, every row is one still there, and each
    row is the answers seen. ``MATRIX_PRINT=1`` prints the answers seen as a table to paste."""
    if os.environ.get("MATRIX_PRINT"):
        print("\nEXPECTED = {")
        for name, row in seen.items():
            print(f"    {name!r}: {row!r},")
        print("}")
    missing = sorted(set(seen) - set(expected))
    assert not missing, f"{what} without a row in the table: " + ", ".join(missing)
    gone = sorted(set(expected) - set(seen))
    assert not gone, f"rows for {what} that no longer exist: " + ", ".join(gone)
    wrong = {n: (expected[n], seen[n]) for n in seen if expected[n] != seen[n]}
    assert not wrong, "\n".join(f"{n}: expected {e}, got {g}" for n, (e, g) in wrong.items())
