"""The inbound rules over plain values: no store, no CRM."""

from __future__ import annotations

from syncledger.domain.inbound_rules import OwnerChange, sequence_move, takes_owner
from syncledger.domain.steps import SequenceMapping

PAIR = OwnerChange("tm-bob", by_default=False)
DEFAULT = OwnerChange("tm-alice", by_default=True)


def test_the_default_owner_never_takes_an_existing_person() -> None:
    # Given a person owned by Bob, and a record whose owner no rule maps
    # When the record is linked to the person, Then the person keeps Bob
    assert not takes_owner(DEFAULT, "tm-bob", True, False, False, "005X", None)


def test_a_newly_linked_record_gives_its_mapped_owner() -> None:
    assert takes_owner(PAIR, "tm-alice", True, False, False, "005B", None)


def test_an_owner_changed_in_the_crm_moves_the_person() -> None:
    assert takes_owner(PAIR, "tm-alice", False, False, False, "005B", "005A")


def test_the_owner_learnt_of_a_record_we_created_moves_nobody() -> None:
    assert not takes_owner(PAIR, "tm-alice", False, False, True, "005B", None)


def test_an_owner_that_came_by_default_gives_way_to_a_rule() -> None:
    assert takes_owner(PAIR, "tm-alice", False, True, False, "005B", "005B")


def test_an_unchanged_owner_moves_nobody() -> None:
    assert not takes_owner(PAIR, "tm-alice", False, False, False, "005B", "005B")
    assert not takes_owner(PAIR, "tm-bob", True, False, False, "005B", None)


def test_a_person_joins_the_sequence_of_its_owner() -> None:
    mappings = [SequenceMapping("tm-alice", "seq-a"), SequenceMapping("tm-bob", "seq-b", 2)]
    move = sequence_move(mappings, "tm-bob", True, None)
    assert move is not None and move.leave is None and move.join.sequence == "seq-b"
    assert move.join.step == 2


def test_a_person_leaves_its_sequence_for_the_mapped_one() -> None:
    move = sequence_move([SequenceMapping("*", "seq-b")], "tm-bob", False, "seq-a")
    assert move is not None and move.leave == "seq-a" and move.join.sequence == "seq-b"


def test_a_person_in_its_sequence_stays_where_it_is() -> None:
    assert sequence_move([SequenceMapping("*", "seq-b")], "tm-bob", False, "seq-b") is None


def test_only_new_records_leaves_existing_people_alone() -> None:
    only_new = [SequenceMapping("*", "seq-b", only_new_records=True)]
    assert sequence_move(only_new, "tm-bob", False, None) is None
    assert sequence_move(only_new, "tm-bob", True, None) is not None


def test_no_mapping_for_the_owner_routes_nowhere() -> None:
    assert sequence_move([SequenceMapping("tm-alice", "seq-a")], "tm-bob", True, None) is None
