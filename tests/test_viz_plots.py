"""The shared uncertainty bars: one panel per example, bar heights the means, error bars the sds."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from xairepro.experiments.suite import UNIT_EXAMPLE_COLUMNS  # noqa: E402
from xairepro.viz.plots import uncertainty_bars  # noqa: E402


def test_uncertainty_bars_draw_each_examples_mean_and_sd_in_unit_order():
    rows = [("x", "m", "bayesgrad", ex, pos, f"u{pos}", 0.1 * (ex + 1) * (pos + 1), 0.01 * (pos + 1), 8)
            for ex in (3, 7) for pos in (2, 0, 1)]
    rows.append(("x", "other", "bayesgrad", 9, 0, "u0", 5.0, 1.0, 8))  # another model: left out
    table = pd.DataFrame(rows, columns=UNIT_EXAMPLE_COLUMNS)
    axes = uncertainty_bars(table, "bayesgrad", model="m", titles={7: "seven"})
    assert len(axes) == 2 and axes[1].get_title() == "seven (M = 8)" and axes[0].get_title() == "example 3 (M = 8)"
    heights = [p.get_height() for p in axes[0].patches]
    np.testing.assert_allclose(heights, [0.4, 0.8, 1.2])  # example 3, positions 0, 1, 2
    bars = [c for c in axes[0].containers if hasattr(c, "patches")][0]
    (errbar,) = bars.errorbar.lines[2]
    np.testing.assert_allclose([seg[1, 1] - seg[0, 1] for seg in errbar.get_segments()], [0.02, 0.04, 0.06])
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["u0", "u1", "u2"]
    assert uncertainty_bars(table, "smoothgrad") is None
