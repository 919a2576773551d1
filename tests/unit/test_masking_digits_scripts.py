"""Digits of every script are masked, the same way as their ASCII form."""

from __future__ import annotations

from seeder.masking.keys import Keyed
from seeder.masking.maskers import DigitsMasker
from seeder.masking.rules import DigitsSpec


def test_arabic_indic_and_fullwidth_digits_are_masked_like_ascii() -> None:
    masker = DigitsMasker(DigitsSpec(masker="digits"), Keyed(b"k" * 32))
    ascii_form = masker.mask_text("+44 345 1234567")
    assert masker.mask_text("+44 ٣٤٥ 1234567") == ascii_form
    assert masker.mask_text("+44 ３４５ 1234567") == ascii_form
    assert "٣٤٥" not in masker.mask_text("+44 ٣٤٥ 1234567")
