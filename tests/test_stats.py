import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from regutils import stats


def test_interval_is_the_student_t_interval_with_the_sample_std():
    values = [0.91, 0.90, 0.93, 0.92, 0.89]
    result = stats.interval(values)
    s = np.std(values, ddof=1)
    low, high = scipy_stats.t.interval(0.95, df=4, loc=np.mean(values), scale=s / math.sqrt(5))
    assert result.std == pytest.approx(s) and result.n == 5
    assert (result.low, result.high) == pytest.approx((low, high))


def test_pairing_removes_the_spread_both_arms_share():
    shared = np.array([0.80, 0.85, 0.90, 0.95, 0.88])  # the luck of each seed's draw
    treatment, control = shared + 0.01 + np.array([0.001, -0.001, 0.0, 0.001, -0.001]), shared
    paired = stats.paired_difference(treatment, control)
    unpaired = stats.interval(treatment).half_width + stats.interval(control).half_width
    assert paired.above(0) and paired.half_width < unpaired / 20


def test_a_difference_inside_the_noise_is_not_resolved():
    paired = stats.paired_difference([0.90, 0.92, 0.91], [0.89, 0.90, 0.90])
    assert not paired.excludes(0) and not paired.above(0) and not paired.below(0)


def test_nan_seeds_are_dropped_from_both_arms_and_one_value_has_no_interval():
    paired = stats.paired_difference([0.9, np.nan, 0.8], [0.85, 0.7, 0.75])
    assert paired.n == 2 and paired.mean == pytest.approx(0.05)
    single = stats.interval([0.9])
    assert math.isnan(single.half_width) and not single.excludes(0) and single.format() == "0.900"
    with pytest.raises(ValueError, match="no values"):
        stats.interval([np.nan])
    with pytest.raises(ValueError, match="one value per seed"):
        stats.paired_difference([1.0, 2.0], [1.0])


def test_interval_formats_and_scales():
    result = stats.interval([0.010, 0.012, 0.011, 0.013, 0.009]).scaled(100)
    assert result.format(".1f", " points").startswith("1.1 points ± 0.")
    assert stats.binomial_se(0.5, 100) == pytest.approx(0.05)
