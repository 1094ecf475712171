"""Words shaded by attribution, as the text notebook shows them."""
import pytest

from xairepro.viz.text import shaded_words_html


def test_shading_scales_escapes_and_colours_by_sign():
    out = shaded_words_html(["good", "<b>bad</b>", "film"], [0.5, -1.0, 0.0])
    spans = out.split("</span> ")
    assert "rgba(0,160,0,0.50)" in spans[0] and 'title="0.5000"' in spans[0]
    assert "rgba(220,0,0,1.00)" in spans[1] and "&lt;b&gt;bad&lt;/b&gt;" in spans[1] and "<b>" not in out
    assert "rgba(0,160,0,0.00)" in spans[2]
    unsigned = shaded_words_html(["a", "b"], [-0.2, 0.4], scale_to=0.8, signed=False, color="255,140,0")
    assert "rgba(255,140,0,0.25)" in unsigned and "rgba(255,140,0,0.50)" in unsigned
    with pytest.raises(ValueError, match="2 words but 1 values"):
        shaded_words_html(["a", "b"], [1.0])
