"""CSV files for the reliability tests (fast to build: plain string joins)."""

from __future__ import annotations

HEADER = "First Name,Email,Title,Departments,Seniority,Company Name,Company Domain\n"


def contact_line(index: int, title: str = "Engineer") -> str:
    company = index % 37
    return (
        f"Person{index},person{index}@example.com,{title} {index % 11},Engineering; Sales,"
        f"Level{index % 5},Company {company},co{company}.example\n"
    )


def contacts_file(
    count: int, *, start: int = 0, title: str = "Engineer", bad_every: int = 0
) -> bytes:
    """`count` contacts; every `bad_every`-th row has a bad email; a few keys repeat."""
    lines = [HEADER]
    for index in range(start, start + count):
        if bad_every and index % bad_every == 0:
            lines.append(f"Bad{index},not-an-email-{index},x,,,,\n")
        else:
            lines.append(contact_line(index, title))
    # The same keys again near the end: duplicates, last one wins.
    lines.extend(contact_line(index, title + " again") for index in range(start + 1, start + 40))
    return "".join(lines).encode()
