"""Counts of examples, as the data wing takes them: Python or NumPy integers."""

import numpy as np


def is_count(value, *, minimum: int = 1) -> bool:
    """Whether `value` is a Python or NumPy integer (not a bool) of at least `minimum`."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, np.integer))
        and value >= minimum
    )
