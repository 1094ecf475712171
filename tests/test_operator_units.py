"""Each experiment's removal operators (``operator_units`` of its settings.py) from its training
statistics, and the config's ``operators`` lists checked against the registry."""
import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from conftest import REPO_ROOT
from xairepro.config import ConfigError, check_operators, resolve_scale, validate_config
from xairepro.evaluation import operators as ops
from xairepro.names import BUILTIN_OPERATORS, OPERATOR_SECTIONS


class Echo(nn.Module):
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.reshape(x.shape[0], -1).to(torch.float64)


def _repo_config(scale=None):
    return resolve_scale(yaml.safe_load((REPO_ROOT / "config.yaml").read_text()), scale)


def _section(cfg, key):
    for part in key.split("."):
        cfg = cfg[part]
    return cfg


def test_the_builtin_operator_lists_equal_the_registry():
    builtin = {kind: sorted(n for n in ops.operator_names(kind)
                            if ops.operator_class(n, kind).__module__ == ops.__name__) for kind in ops.UNIT_KINDS}
    assert builtin == {kind: sorted(names) for kind, names in BUILTIN_OPERATORS.items()}


@pytest.mark.parametrize("key", sorted(OPERATOR_SECTIONS))
def test_each_experiment_defaults_to_the_operators_its_config_lists(key):
    import importlib

    experiment = key.split(".")[0]
    settings = importlib.import_module(f"xairepro.experiments.{experiment}.settings")
    kind = OPERATOR_SECTIONS[key]
    listed = {scale: _section(_repo_config(scale), key)["operators"] for scale in ("quick", "cpu", "full")}
    # the cpu and full scales: the experiment's defaults, at least three, one of them in distribution
    for scale in ("cpu", "full"):
        assert list(settings.OPERATORS) == listed[scale] and listed[scale][0] == "baseline"
        assert set(listed[scale]) <= set(BUILTIN_OPERATORS[kind]) and len(listed[scale]) >= 3
    # quick (a smoke test of the protocol): a subset in the same order, still the baseline beside an
    # operator in distribution, so its agreement tables compare two kinds of removal
    quick = listed["quick"]
    assert quick == [n for n in listed["cpu"] if n in quick] and len(quick) >= 2 and quick[0] == "baseline"
    for names in listed.values():
        assert any(ops.operator_class(n, kind).in_distribution for n in names)


def test_an_unknown_operator_is_named_with_its_key_and_the_registered_ones():
    cfg = _repo_config()
    check_operators(cfg)
    bad = copy.deepcopy(cfg)
    bad["vision"]["aopc"]["operators"] = ["baseline", "delete"]        # a token operator on pixels
    with pytest.raises(ConfigError, match=r"vision.aopc.operators: unknown removal operator\(s\) \['delete'\] for "
                                          r"pixel units; registered: baseline, blur, mean_colour, road"):
        check_operators(bad)
    raw = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    raw["iris"]["faithfulness"]["operators"] = "draw"
    with pytest.raises(Exception, match="operators"):
        validate_config(raw)


def test_a_registered_operator_passes_the_config_check():
    @ops.register_operator("test_config_fill", unit="feature")
    class Fill(ops.FeatureBaseline):
        def __init__(self):
            super().__init__(1.0)

    cfg = _repo_config()
    cfg["iris"]["faithfulness"]["operators"] = ["baseline", "test_config_fill"]
    check_operators(cfg)
    cfg["tox21"]["faithfulness"]["operators"] = ["test_config_fill"]       # not for atoms
    with pytest.raises(ConfigError, match="tox21.faithfulness.operators"):
        check_operators(cfg)


# ------------------------------------------------------------------------------------ experiments
def test_iris_operator_units_from_the_flowers():
    from xairepro.experiments.iris.settings import operator_units

    x = np.array([[1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0]])
    units = operator_units(SimpleNamespace(x=x), {"operators": ["baseline", "zero", "draw", "mean"]}, seed=3)
    assert list(units) == ["baseline", "zero", "draw", "mean"]
    row, every = torch.tensor([9.0, 9.0, 9.0, 9.0]), [torch.ones(1, 4, dtype=torch.bool)]
    assert units["baseline"].forward_removed(Echo(), [row], every).tolist() == [[2.0, 3.0, 4.0, 5.0]]
    assert units["mean"].forward_removed(Echo(), [row], every).tolist() == [[2.0, 3.0, 4.0, 5.0]]
    assert units["zero"].forward_removed(Echo(), [row], every).tolist() == [[0.0] * 4]
    drawn = units["draw"].forward_removed(Echo(), [row + i for i in range(30)], every * 30)
    assert all(set(drawn[:, d].tolist()) == {x[0, d], x[1, d]} for d in range(4))


def test_peptide_draws_come_from_the_training_residues_and_deletion_shortens():
    from xairepro.experiments.peptides.data import ALPHABET
    from xairepro.experiments.peptides.settings import UNIT, onehot, operator_units

    train_ids = torch.tensor([[3, 3, 5, 0], [5, 3, 0, 0]])
    test_ids = torch.tensor([[7, 7, 8, 0]])
    data = SimpleNamespace(x=onehot(torch.cat([train_ids, test_ids])).numpy(), split={"train": np.array([0, 1])})
    units = operator_units(data, {}, seed=0)
    assert list(units) == ["baseline", "draw", "delete"] and units["baseline"] is UNIT
    every = [torch.ones(1, 3, dtype=torch.bool)]
    drawn = torch.cat([units["draw"].forward_removed(Echo(), [test_ids[0] + 0 * i], every) for i in range(2)])
    assert set(drawn[:, :3].long().reshape(-1).tolist()) <= {3, 5} and (drawn[:, 3] == 0).all()
    out = units["delete"].forward_removed(Echo(), [test_ids[0]], [torch.tensor([[True, False, False]])])
    assert out.long().tolist() == [[7, 8, 0, 0]]
    baseline = units["baseline"].forward_removed(Echo(), [test_ids[0]], every)
    assert baseline.long().tolist() == [[len(ALPHABET)] * 3 + [0]]
    with pytest.raises(ValueError, match=r"peptides.faithfulness.operators: .*needs \['oov_id'\]"):
        operator_units(data, {"operators": ["baseline", "oov"]})


def test_smiles_draws_come_from_the_training_strings_and_oov_is_unk():
    from xairepro.experiments.smiles2vec.explain import RankedUnit
    from xairepro.experiments.smiles2vec.settings import operator_units, unit

    vocab = ["C", "O", "N", "<pad>", "<unk>"]
    tokens = np.array([[3, 0, 0, 1, 3], [3, 0, 1, 3, 3], [3, 2, 2, 2, 3]])
    data = SimpleNamespace(tokens=tokens, vocab=vocab, pad_id=3)
    ranked = RankedUnit(unit(3), "abs")
    units = operator_units(data, {"operators": ["baseline", "draw", "delete", "oov"]}, train=[0, 1], base=ranked)
    assert units["baseline"] is ranked and all(isinstance(u, RankedUnit) for u in units.values())
    every = [torch.ones(1, 3, dtype=torch.bool)]
    drawn = units["draw"].forward_removed(Echo(), [torch.as_tensor(tokens[2])], every).long()
    assert set(drawn[0, 1:4].tolist()) <= {0, 1}                         # C and O: never N (test only)
    oov = units["oov"].forward_removed(Echo(), [torch.as_tensor(tokens[2])], every)
    assert oov.long().tolist() == [[3, 4, 4, 4, 3]]


def test_text_operator_units_pad_oov_and_delete():
    from xairepro.experiments.text.data import OOV_ID, PAD_ID
    from xairepro.experiments.text.settings import operator_units

    units = operator_units({})
    review = torch.tensor([5, 6, 7, PAD_ID])
    removed = [torch.tensor([[False, True, False]])]
    assert [u.forward_removed(Echo(), [review], removed).long().tolist()[0] for u in units.values()] == \
        [[5, PAD_ID, 7, PAD_ID], [5, OOV_ID, 7, PAD_ID], [5, 7, PAD_ID, PAD_ID]]


def test_vision_mean_colour_is_the_training_images_mean_and_road_uses_it():
    from xairepro.experiments.vision.settings import mean_colour, operator_units

    x_train = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    want = x_train.double().div(255).mean((0, 2, 3)).float()
    torch.testing.assert_close(mean_colour({"x_train": x_train}, chunk=2), want)
    units = operator_units({"x_train": x_train}, {}, seed=0)
    assert list(units) == ["baseline", "mean_colour", "blur", "road"]
    image, every = torch.rand(3, 4, 4), [torch.ones(1, 16, dtype=torch.bool)]
    flat = units["mean_colour"].forward_removed(Echo(), [image], every).view(3, 16)
    torch.testing.assert_close(flat.float(), want.view(3, 1).expand(3, 16))
    # every pixel removed: ROAD has nothing to interpolate from, so the mean colour plus its noise (sd 0.01)
    noise = units["road"].forward_removed(Echo(), [image], every).view(3, 16) - want.view(3, 1)
    assert noise.abs().max() < 0.06 and 0.003 < float(noise.std()) < 0.03


def test_graph_mean_embedding_is_the_models_mean_over_training_atoms():
    from xairepro.data.featurize import graphs_from_smiles
    from xairepro.experiments.esol.settings import operator_units
    from xairepro.experiments.graphs import training_mean_embedding
    from xairepro.models.gnn import GGNN

    torch.manual_seed(0)
    model = GGNN(hidden_dim=4, n_layers=2).eval()
    train = graphs_from_smiles(["CCO", "c1ccncc1", "CN"])
    atoms = torch.cat([g.x for g in train])
    with torch.no_grad():
        want = model.embedding(atoms).mean(0)
    torch.testing.assert_close(training_mean_embedding(model, train), want)
    units = operator_units({"baseline": 0.0}, model, train)
    assert list(units) == ["baseline", "mean_embedding", "delete"]
    torch.testing.assert_close(units["mean_embedding"].removal.mean_embedding, want)
