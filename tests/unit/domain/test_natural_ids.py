"""Natural ids are uuid5 of their key: stores written before keep finding their aggregates."""

from __future__ import annotations

from uuid import uuid5

from hypothesis import given
from hypothesis import strategies as st

from syncledger.domain.ids import NAMESPACE, email_claim_id, natural_id


@given(st.text())
def test_a_natural_id_is_the_uuid5_of_its_key(key: str) -> None:
    expected = uuid5(NAMESPACE, key)
    found = natural_id(key)
    assert found == expected
    assert (found.version, found.variant, found.is_safe) == \
        (expected.version, expected.variant, expected.is_safe)
    assert (str(found), hash(found)) == (str(expected), hash(expected))


def test_an_email_claim_id_ignores_case_and_spaces_around_the_email() -> None:
    assert email_claim_id("app", " Ada@Example.com ") == email_claim_id("app", "ada@example.com")
    assert email_claim_id("app", "ada@example.com") == \
        uuid5(NAMESPACE, "email:app:ada@example.com")
