"""IN lists of a few fixed lengths: every value asked, and few statement texts in all."""

from __future__ import annotations

from syncledger.adapters.in_lists import in_slices


def test_every_value_is_asked_once_its_slice_padded_with_its_own_last_value() -> None:
    values = list(range(1100))
    slices = list(in_slices(values, 512))
    assert [len(s) for s in slices] == [512, 512, 128]  # 76 values left: padded to 128
    assert [v for s in slices for v in dict.fromkeys(s)] == values
    assert set(slices[-1][76:]) == {1099}


def test_any_number_of_values_needs_about_log2_of_the_size_lengths() -> None:
    lengths = {len(s) for n in range(1, 2001) for s in in_slices(list(range(n)), 500)}
    assert lengths == {1, 2, 4, 8, 16, 32, 64, 128, 256, 500}
    assert list(in_slices([], 500)) == []
