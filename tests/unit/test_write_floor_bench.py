"""bench/write_floor.py splits the write floor by groups of the search set: every contacts
index of the set must fall in exactly one group, or its cost would go unmeasured (a new
kind of index added to db/search_structures.py must be given a group)."""

from __future__ import annotations

from bench.write_floor import CONTACT_INDEXES, GROUPS, variants


def test_every_contacts_index_is_in_exactly_one_group() -> None:
    for index in CONTACT_INDEXES:
        groups = [group for group, member in GROUPS.items() if member(index.name)]
        assert len(groups) == 1, (index.name, groups)


def test_each_group_variant_drops_exactly_its_indexes() -> None:
    chosen = variants(each=True)
    for group, member in GROUPS.items():
        dropped = chosen[f"without {group}"]
        assert len(dropped) == sum(member(index.name) for index in CONTACT_INDEXES)
        assert all(statement.startswith("DROP INDEX") for statement in dropped)
    assert len(chosen["keys only"]) == len(CONTACT_INDEXES) + 1  # and the trigger disabled
    for index in CONTACT_INDEXES:
        kept = chosen[f"only {index.name}"]
        assert not any(statement.endswith(f" {index.name}") for statement in kept)
        assert len(kept) == len(CONTACT_INDEXES) - 1
