"""The shared faithfulness metric and its units, on models whose answers are known by hand."""
import numpy as np
import pytest
import torch
from torch import nn

from xairepro.attribution import RandomOrder
from xairepro.data.featurize import graphs_from_smiles
from xairepro.names import FLOOR_METHOD as RANDOM
from xairepro.evaluation.faithfulness import faithfulness_curves, faithfulness_study, faithfulness_summary
from xairepro.evaluation.orders import removal_masks
from xairepro.evaluation.units import AtomUnit, PixelUnit, TokenUnit


def test_removal_masks_follow_the_order_and_the_mode():
    order = np.array([2, 0, 1, 3])
    dele = removal_masks(order, np.array([0.0, 0.5, 1.0]), "deletion")
    assert dele.tolist() == [[False] * 4, [True, False, True, False], [True] * 4]
    ins = removal_masks(order, np.array([0.0, 0.25]), "insertion")
    assert ins.tolist() == [[True] * 4, [True, True, False, True]]  # unit 2 is put back first
    with pytest.raises(ValueError, match="mode"):
        removal_masks(order, np.array([0.0]), "sideways")


class Additive(nn.Module):
    """f(x) = sum of w * x over pixels: removing a pixel (to 0) drops the score by exactly w * x."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1, keepdim=True)


def test_pixel_deletion_curve_and_aopc_by_hand():
    w = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    model, x = Additive(w), torch.ones(1, 2, 2)
    true = np.array([1.0, 2.0, 3.0, 4.0])
    fractions = np.linspace(0, 1, 5)
    curve = faithfulness_curves(model, [x], [true], PixelUnit(), fractions=fractions)
    np.testing.assert_allclose(curve[0], [10, 6, 3, 1, 0])  # the largest contributions go first
    reverse = faithfulness_curves(model, [x], [-true], PixelUnit(), fractions=fractions)
    np.testing.assert_allclose(reverse[0], [10, 9, 7, 4, 0])
    # the floor is the registered method "random", an explanation like the others
    random = RandomOrder(model).compute(x.unsqueeze(0), M=3, seed=0)
    per_example, curves, _, _ = faithfulness_study(model, [x], {"true": [true], "reversed": [-true], RANDOM: random},
                                                   PixelUnit(), fractions=fractions)
    assert set(per_example["method"]) == {"true", "reversed", RANDOM}
    aopc = per_example.set_index("method")["deletion_aopc"]
    assert aopc["true"] == pytest.approx(np.mean([0, 4, 7, 9, 10]))
    assert aopc["reversed"] == pytest.approx(np.mean([0, 1, 3, 6, 10]))
    assert aopc["reversed"] < aopc[RANDOM] < aopc["true"]
    ins = per_example.set_index("method")["insertion_auc"]
    assert ins["true"] == pytest.approx(np.mean([0, 4, 7, 9, 10]))  # 4, then 4+3, ... put back


def test_summary_ranks_methods_and_tests_them_against_random():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        for method, mean in (("good", 2.0), ("bad", 0.0), (RANDOM, 1.0)):
            rows.append({"method": method, "example": i, "deletion_aopc": mean + rng.normal(0, 0.1),
                         "insertion_auc": mean})
    import pandas as pd

    summary = faithfulness_summary(pd.DataFrame(rows)).set_index("method")
    assert summary.loc["good", "rank"] == 1 and summary.loc["bad", "rank"] == 3
    assert summary.loc["good", "diff_vs_random"] > 0 and summary.loc["good", "p_vs_random"] < 0.01
    assert summary.loc["bad", "diff_vs_best"] < 0


def test_summary_refuses_rows_of_two_models_rather_than_average_them_per_example():
    """A classifier and its dropout variant share example ids: pivoting both would average two networks'
    scores into one pair (and test the average), so the summary asks for one model at a time."""
    import pandas as pd

    rows = pd.DataFrame([{"model": m, "replicate": 0, "method": meth, "example": i, "deletion_aopc": v}
                         for m in ("classifier", "dropout") for i in range(4)
                         for meth, v in (("vanilla_grad", 1.0), (RANDOM, 0.5))])
    with pytest.raises(ValueError, match="classifier, dropout"):
        faithfulness_summary(rows)
    one = faithfulness_summary(rows[rows["model"] == "dropout"]).set_index("method")
    assert one.loc["vanilla_grad", "n_examples"] == 4


def test_token_unit_replaces_only_real_tokens():
    class CountNonPad(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10, 1)

        def forward(self, t):
            return (t != 0).sum(1, keepdim=True).float() + 0 * self.embedding(t).sum(1)

    unit = TokenUnit(pad_id=0)
    tokens = torch.tensor([5, 6, 7, 0, 0])
    assert unit.count(tokens) == 3
    out = unit.forward_removed(CountNonPad(), [tokens], [torch.tensor([[False, False, False], [True, False, True]])])
    assert out[:, 0].tolist() == [3.0, 1.0]
    # a token's score sums its row's channels, at the real (non-pad) positions only
    np.testing.assert_allclose(unit.reduce(np.ones((5, 4)), tokens), np.full(3, 4.0))
    np.testing.assert_allclose(unit.reduce(np.arange(5.0), tokens), [0.0, 1.0, 2.0])  # (L,) per position


def test_atom_unit_sets_the_embedding_row_to_the_baseline():
    class SumEmbedding(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(120, 2)
            with torch.no_grad():
                self.embedding.weight.fill_(1.0)

        def forward(self, batch):
            h = self.embedding(batch.x.view(-1)).sum(-1)
            return torch.zeros(batch.num_graphs).index_add(0, batch.batch, h).unsqueeze(1)

    (ethanol,) = graphs_from_smiles(["CCO"])
    unit = AtomUnit("embedding", baseline=0.5)
    out = unit.forward_removed(SumEmbedding(), [ethanol], [torch.tensor([[False, False, False], [True, False, True]])])
    assert out[:, 0].tolist() == [6.0, 4.0]  # two atoms at baseline 0.5 in both channels
