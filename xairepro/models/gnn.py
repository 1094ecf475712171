"""Graph networks of the BayesGrad paper: NFP (neural fingerprints) and GGNN, both with dropout.

Both read ``batch.x`` (atomic numbers), ``batch.edge_index`` (both directions) and
``batch.edge_attr`` (bond-type indices) and return one row per graph. ``model.embedding`` is the
atom embedding: the layer whose output the papers take gradients on.

Dropout is always an ``nn.Dropout`` module (never functional), so MC-dropout attribution can
switch it on while the rest of the model stays in eval mode.
"""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import degree

from .registry import register_model

# Input vocabulary sizes. They equal xairepro.data.featurize's (atomic number as index; single,
# double, triple, aromatic) — tests check it — but are restated so that models never import data.
N_ATOM_TYPES = 120
N_BOND_TYPES = 4


def _sum_pool(h: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
    out = h.new_zeros(num_graphs, h.shape[-1])
    return out.index_add_(0, batch, h)


def _num_graphs(data) -> int:
    n = getattr(data, "num_graphs", None)
    if n is not None:
        return int(n)
    return 1 if getattr(data, "batch", None) is None else int(data.batch.max()) + 1


def _batch_vector(data) -> torch.Tensor:
    b = getattr(data, "batch", None)
    return b if b is not None else data.x.new_zeros(data.x.shape[0])


class OutputScale(nn.Module):
    """Maps a standardized output back to target units (``y = shift + scale * z``), so that the
    model predicts and is attributed in the units of the data (e.g. log mol/L)."""

    def __init__(self, n_out: int):
        super().__init__()
        self.register_buffer("shift", torch.zeros(n_out))
        self.register_buffer("scale", torch.ones(n_out))

    def forward(self, z):
        return z * self.scale + self.shift


@register_model("ggnn")
class GGNN(nn.Module):
    """Gated graph neural network (Li et al. 2016) as used in the BayesGrad paper.

    Message passing: per-bond-type linear messages summed over neighbours, GRU update; the
    message weights are shared across steps (``weight_tying``). Readout: gated sum
    ``sum_v sigmoid(i([h_v, h0_v])) * j(h_v)``. Dropout (p=``dropout``) is applied to the node
    states before every message-passing step and before the readout MLP, as in the paper.
    """

    def __init__(self, n_atom_types: int = N_ATOM_TYPES, hidden_dim: int = 16, n_layers: int = 4,
                 n_out: int = 1, dropout: float = 0.25, n_bond_types: int = N_BOND_TYPES,
                 weight_tying: bool = True, readout_dim: int | None = None):
        super().__init__()
        readout_dim = readout_dim or hidden_dim
        self.hidden_dim, self.n_layers, self.n_bond_types = hidden_dim, n_layers, n_bond_types
        self.weight_tying = weight_tying
        self.embedding = nn.Embedding(n_atom_types, hidden_dim)
        n_msg = 1 if weight_tying else n_layers
        self.message = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim * n_bond_types) for _ in range(n_msg))
        self.update = nn.GRUCell(hidden_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.readout_gate = nn.Linear(2 * hidden_dim, readout_dim)
        self.readout_value = nn.Linear(hidden_dim, readout_dim)
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(readout_dim, hidden_dim), nn.ReLU(),
                                 nn.Linear(hidden_dim, n_out))
        self.output = OutputScale(n_out)

    def forward(self, data) -> torch.Tensor:
        src, dst = data.edge_index
        bond = data.edge_attr.view(-1)
        h0 = self.embedding(data.x.view(-1))
        h = h0
        for step in range(self.n_layers):
            lin = self.message[0 if self.weight_tying else step]
            m = lin(self.dropout(h)).view(-1, self.n_bond_types, self.hidden_dim)
            msg = m[src, bond]
            # allocate in the message's dtype: under autocast it differs from h's
            agg = msg.new_zeros(h.shape[0], msg.shape[-1]).index_add_(0, dst, msg)
            h = self.update(agg, h)
        gate = torch.sigmoid(self.readout_gate(torch.cat([h, h0], dim=-1)))
        g = _sum_pool(gate * self.readout_value(h), _batch_vector(data), _num_graphs(data))
        return self.output(self.mlp(g))


@register_model("nfp")
class NFP(nn.Module):
    """Neural fingerprint (Duvenaud et al. 2015) with dropout, as in the BayesGrad paper.

    Each layer sums a node with its neighbours and applies a degree-specific linear map and a
    sigmoid; each layer's nodes write a softmax "fingerprint" that is summed over atoms and
    layers. Dropout is applied before every layer and before the output MLP.
    """

    def __init__(self, n_atom_types: int = N_ATOM_TYPES, hidden_dim: int = 16, n_layers: int = 4,
                 n_out: int = 1, dropout: float = 0.25, fp_dim: int | None = None, max_degree: int = 6):
        super().__init__()
        fp_dim = fp_dim or hidden_dim
        self.max_degree = max_degree
        self.embedding = nn.Embedding(n_atom_types, hidden_dim)
        self.layers = nn.ModuleList(
            nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(max_degree + 1))
            for _ in range(n_layers))
        self.fingerprint = nn.ModuleList(nn.Linear(hidden_dim, fp_dim) for _ in range(n_layers + 1))
        self.dropout = nn.Dropout(dropout)
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(fp_dim, hidden_dim), nn.ReLU(),
                                 nn.Linear(hidden_dim, n_out))
        self.output = OutputScale(n_out)

    def forward(self, data) -> torch.Tensor:
        src, dst = data.edge_index
        h = self.embedding(data.x.view(-1))
        n = h.shape[0]
        deg = degree(dst, n, dtype=torch.long).clamp(max=self.max_degree)
        batch, num_graphs = _batch_vector(data), _num_graphs(data)
        fp = _sum_pool(torch.softmax(self.fingerprint[0](h), dim=-1), batch, num_graphs)
        for layer, fp_lin in zip(self.layers, self.fingerprint[1:]):
            hd = self.dropout(h)
            s = hd + torch.zeros_like(hd).index_add_(0, dst, hd[src])
            out = None
            for d, lin in enumerate(layer):
                idx = (deg == d).nonzero(as_tuple=True)[0]
                if idx.numel():
                    y = lin(s[idx])
                    if out is None:  # allocated in the layer's output dtype (autocast-safe)
                        out = y.new_zeros(s.shape[0], y.shape[-1])
                    out = out.index_copy(0, idx, y)
            h = torch.sigmoid(out)
            fp = fp + _sum_pool(torch.softmax(fp_lin(h), dim=-1), batch, num_graphs)
        return self.output(self.mlp(fp))


@register_model("weave")
class PairConv(nn.Module):
    """A minimal Weave-style convolution (Kearnes et al. 2016), the architecture family of the
    counterfactuals paper's "dead features" anecdote: atom states and pair (bond) states.

    Each layer updates an atom from its own state and the sum of its incident pair states, and a
    pair from its own state and its two end atoms. In one layer an atom's new state therefore
    depends only on its own type and the types of its bonds, never on its neighbours' types; the
    last layer's pair update would be unused and is left out. Readout: sum over atoms, then an MLP.
    """

    def __init__(self, n_atom_types: int = N_ATOM_TYPES, hidden_dim: int = 16, n_layers: int = 1, n_out: int = 1,
                 dropout: float = 0.0, n_bond_types: int = N_BOND_TYPES):
        super().__init__()
        self.n_layers = n_layers
        self.embedding = nn.Embedding(n_atom_types, hidden_dim)
        self.bond_embedding = nn.Embedding(n_bond_types, hidden_dim)
        self.atom_self = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(n_layers))
        self.pair_to_atom = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim, bias=False) for _ in range(n_layers))
        self.pair_self = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(n_layers - 1))
        self.atom_to_pair = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim, bias=False) for _ in range(n_layers - 1))
        self.dropout = nn.Dropout(dropout)
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
                                 nn.Linear(hidden_dim, n_out))

    def forward(self, data) -> torch.Tensor:
        src, dst = data.edge_index
        a = self.embedding(data.x.view(-1))
        p = self.bond_embedding(data.edge_attr.view(-1))
        for layer in range(self.n_layers):
            a_in, p_in = self.dropout(a), self.dropout(p)
            incoming = torch.zeros_like(a_in).index_add_(0, dst, self.pair_to_atom[layer](p_in))
            a_new = torch.relu(self.atom_self[layer](a_in) + incoming)
            if layer < self.n_layers - 1:
                p = torch.relu(self.pair_self[layer](p_in) + self.atom_to_pair[layer](a_in[src] + a_in[dst]))
            a = a_new
        batch = data.batch if getattr(data, "batch", None) is not None else data.x.new_zeros(a.shape[0])
        n_graphs = int(batch.max()) + 1 if a.shape[0] else 0
        pooled = a.new_zeros(n_graphs, a.shape[1]).index_add_(0, batch, a)
        return self.mlp(pooled)
