"""Helpers for the book's pages that have nothing to do with training: putting numbers into prose."""
from __future__ import annotations


def glue(name: str, value) -> None:
    """Store `value` for the page's {glue:text}`name` roles; does nothing where MyST-NB is absent.

    NumPy and torch scalars are stored as plain Python numbers, so format specs such as
    {glue:text}`gap:.1%` can read them (MyST-NB parses the stored text, and `np.float64(0.1)`
    is not a number to it).

    >>> glue("final_gap", 0.094)  # on Colab, without myst_nb, this is silent
    """
    if hasattr(value, "item"):
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=False)


def span(values) -> str:
    """A range of values in words, for the prose: "0.5 to 2", or "only 2 itself" for one value.

    >>> span([2.0]), span([1.0, 0.5, 2.0])
    ('only 2 itself', '0.5 to 2')
    """
    values = sorted(values)
    return f"only {values[0]:g} itself" if len(values) == 1 else f"{values[0]:g} to {values[-1]:g}"
