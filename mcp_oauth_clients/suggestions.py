"""Suggestions ("did you mean"): the one rule for suggesting what a caller probably meant by a name we do not know.

Used for unknown argument names and for scopes that are not in Cloudflare's catalogue, so both
suggest with the same closeness and the same bounds.
"""

from __future__ import annotations

from collections.abc import Collection

# How close a suggestion must be (difflib's ratio, 0 to 1): difflib's own default, which keeps a
# transposed letter ("zone.raed") and drops unrelated names ("colour" is not "policy_uri").
CUTOFF = 0.6
# difflib is quadratic in the word's length and linear in the choices: past these, no suggestion is
# worth its time, and a hostile call cannot make one cost seconds.
MAX_WORD = 64
MAX_CHOICES = 2000


def closest(word: str, choices: Collection[str], most: int = 1) -> list[str]:
    """Up to `most` of `choices` that `word` is probably a misspelling of, closest first; [] when none is close
    enough or the word or the choices are too long to search."""
    if len(word) > MAX_WORD or len(choices) > MAX_CHOICES:
        return []
    import difflib  # only a refused name needs it; kept off the start-up path

    return difflib.get_close_matches(word, list(choices), n=most, cutoff=CUTOFF)
