"""store_contents = false: a body is logged as its digest, the same body again is nothing
new in either form, and a held body stands in for its digest only when it matches."""

from __future__ import annotations

import hashlib

from syncledger.domain.activity_mapping import note_fields, task_description
from syncledger.domain.message_bodies import (
    body_digest,
    held_digest,
    marked,
    revealed,
    withhold,
)

BODY = "Dear Ada, the engine"
DIGEST = hashlib.sha256(BODY.encode()).hexdigest()


def test_a_withheld_body_is_logged_as_its_sha256_and_handed_back_to_hold() -> None:
    logged, held = withhold("email", {"subject": "Hi", "body": BODY}, None, hold=True)
    assert logged == {"subject": "Hi", "body": {"sha256": DIGEST}}
    assert held == BODY
    assert held_digest(logged["body"]) == DIGEST == body_digest(BODY)


def test_each_kind_withholds_its_own_body_field_and_nothing_else() -> None:
    for kind, name in (("call", "notes"), ("task", "notes"), ("linkedin", "message"),
                       ("note", "text")):
        logged, held = withhold(kind, {name: BODY, "outcome": "Connected"}, None, hold=True)
        assert (logged[name], logged["outcome"], held) == ({"sha256": DIGEST}, "Connected",
                                                           BODY)


def test_no_body_or_an_empty_one_is_nothing_to_hold() -> None:
    assert withhold("email", {"subject": "Hi"}, None, hold=True) == ({"subject": "Hi"}, None)
    assert withhold("email", {"body": ""}, None, hold=True) == ({"body": ""}, None)


def test_the_same_body_again_is_nothing_new_in_whichever_form_the_log_has_it() -> None:
    as_digest = {"body": {"sha256": DIGEST}}
    # store_contents switched on after the body was withheld: the digest stays.
    assert withhold("email", {"body": BODY}, as_digest, hold=False) == (as_digest, None)
    assert withhold("email", {"body": BODY}, as_digest, hold=True) == (as_digest, None)
    # ... switched off after it was logged in the clear: the clear text stays.
    assert withhold("email", {"body": BODY}, {"body": BODY}, hold=True) == ({"body": BODY},
                                                                            None)


def test_a_changed_body_gets_a_new_digest() -> None:
    logged, held = withhold("email", {"body": "changed"}, {"body": {"sha256": DIGEST}},
                            hold=True)
    assert held == "changed" and held_digest(logged["body"]) != DIGEST
    assert withhold("email", {"body": "changed"}, {"body": BODY}, hold=False) == \
        ({"body": "changed"}, None)


def test_marked_shows_the_digest_as_text_and_revealed_puts_the_held_body_back() -> None:
    logged = {"subject": "Hi", "body": {"sha256": DIGEST}}
    assert marked(logged) == {"subject": "Hi", "body": f"sha256:{DIGEST}"}
    assert task_description("email", marked(logged)) == f"sha256:{DIGEST}"
    assert revealed(logged, {DIGEST: BODY}) == ({"subject": "Hi", "body": BODY}, [])
    assert revealed(logged, {"other": "text"}) == ({"subject": "Hi"}, ["body"])
    assert revealed({"body": BODY}, {}) == ({"body": BODY}, [])


def test_a_note_recorded_from_its_digest_names_no_text_of_the_note() -> None:
    logged = marked({"text": {"sha256": DIGEST}})
    fields = note_fields(logged, "00Q1", "k" * 32, include_contents=True)
    assert "Ada" not in repr(fields)
    assert fields["Title"].startswith("sha256:") and fields["Title"].endswith(f"[{'k' * 32}]")
