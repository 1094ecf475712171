"""Graph networks of the BayesGrad paper: NFP (neural fingerprints) and GGNN, both with dropout.

Both read ``batch.x`` (atomic numbers), ``batch.edge_index`` (both directions) and
``batch.edge_attr`` (bond-type indices) and return one row per graph. ``model.embedding`` is the
atom embedding: the layer whose output the papers take gradients on.

``ggnn`` and ``nfp`` follow chainer-chemistry v0.3/0.4 ``GGNN``/``NFP`` with the dropout the
BayesGrad code adds (its ``GGNNDrop``/``NFPDrop``) and its prediction head (``MLPDrop`` with one
layer: dropout, then one linear map), layer by layer; the initialisation is chainer's (LeCun normal
weights, zero biases, N(0, 1) embedding). ``ggnn_embedding_state`` is this project's earlier GGNN
(atom embedding as the GRU's initial state, PyTorch GRU cell, two-layer head), kept as an ablation.
Left out on purpose: chainer-chemistry pads molecules of a minibatch to one size and its readouts
also sum over padding atoms, so a molecule's output there depends on the batch; here it never does.

Dropout is always an ``nn.Dropout`` module (never functional), so MC-dropout attribution can
switch it on while the rest of the model stays in eval mode.
"""
from __future__ import annotations

import torch
from torch import nn

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


def chainer_init_(module: nn.Module) -> nn.Module:
    """Chainer's default initialisation: LeCun normal linear weights (sd 1/sqrt(fan_in)), zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, m.in_features ** -0.5)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def dropout_head(in_dim: int, hidden_dim: int, n_out: int, n_layers: int, dropout: float) -> nn.Sequential:
    """The BayesGrad code's ``MLPDrop``: dropout, then ``n_layers - 1`` (linear, ReLU, dropout) blocks,
    then a linear output (``n_layers = 1``: dropout and one linear map, the paper's setting)."""
    layers: list[nn.Module] = [nn.Dropout(dropout)]
    for _ in range(n_layers - 1):
        layers += [nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = hidden_dim
    return nn.Sequential(*layers, nn.Linear(in_dim, n_out))


class ChainerGRU(nn.Module):
    """The GRU of ``chainer.links.StatefulGRU`` (Cho et al. 2014), not PyTorch's variant:

    ``r = s(W_r x + U_r h)``, ``z = s(W_z x + U_z h)``, ``h~ = tanh(W x + U (r * h))``,
    ``h' = z * h~ + (1 - z) * h``; with no state (``h=None``, chainer's state after ``reset_state``)
    ``h' = s(W_z x) * tanh(W x)``. Every map has a bias; the reset gate acts before ``U``.
    """

    def __init__(self, in_size: int, out_size: int):
        super().__init__()
        self.out_size = out_size
        self.W = nn.Linear(in_size, 3 * out_size)  # [W_r, W_z, W] stacked
        self.U_rz = nn.Linear(out_size, 2 * out_size)  # [U_r, U_z]
        self.U = nn.Linear(out_size, out_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        wr, wz, w = self.W(x).split(self.out_size, dim=-1)
        if h is None:
            return torch.sigmoid(wz) * torch.tanh(w)
        ur, uz = self.U_rz(h).split(self.out_size, dim=-1)
        r, z = torch.sigmoid(wr + ur), torch.sigmoid(wz + uz)
        h_bar = torch.tanh(w + self.U(r * h))
        return z * h_bar + (1 - z) * h


def _bond_messages(lin: nn.Linear, h: torch.Tensor, src, dst, bond, n_bond_types: int) -> torch.Tensor:
    """Sum over neighbours ``j`` of ``A_{bond(i,j)} h_j``: one linear map per bond type."""
    m = lin(h).view(h.shape[0], n_bond_types, lin.out_features // n_bond_types)  # explicit: a batch may hold no atom
    msg = m[src, bond]
    # allocate in the message's dtype: under autocast it differs from h's
    return msg.new_zeros(h.shape[0], msg.shape[-1]).index_add_(0, dst, msg)


@register_model("ggnn")
class GGNN(nn.Module):
    """Gated graph neural network (Li et al. 2016) as chainer-chemistry's ``GGNN`` with the BayesGrad
    code's dropout (``GGNNDrop``) and head.

    Each step: ``d = dropout(h)``; message ``m_i = sum_j A_{bond(i,j)} d_j`` (one linear map per
    bond type, shared across steps with ``weight_tying``); ``h = GRU([d, m], state)`` with chainer's
    GRU, whose state starts empty at every forward pass (step 1 has no recurrent term) and is then
    the previous step's output. Readout ``sum_v sigmoid(i([h_v, h0_v])) * j(h_v)`` with ``h0`` the
    embedding, then the head (dropout, linear).
    """

    def __init__(self, n_atom_types: int = N_ATOM_TYPES, hidden_dim: int = 16, n_layers: int = 4,
                 n_out: int = 1, dropout: float = 0.25, n_bond_types: int = N_BOND_TYPES,
                 weight_tying: bool = True, readout_dim: int | None = None, head_layers: int = 1):
        super().__init__()
        readout_dim = readout_dim or hidden_dim
        self.hidden_dim, self.n_layers, self.n_bond_types = hidden_dim, n_layers, n_bond_types
        self.weight_tying = weight_tying
        self.embedding = nn.Embedding(n_atom_types, hidden_dim)
        n_msg = 1 if weight_tying else n_layers
        self.message = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim * n_bond_types) for _ in range(n_msg))
        self.update = ChainerGRU(2 * hidden_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.readout_gate = nn.Linear(2 * hidden_dim, readout_dim)
        self.readout_value = nn.Linear(hidden_dim, readout_dim)
        self.mlp = dropout_head(readout_dim, hidden_dim, n_out, head_layers, dropout)
        self.output = OutputScale(n_out)
        chainer_init_(self)

    def forward(self, data) -> torch.Tensor:
        src, dst = data.edge_index
        bond = data.edge_attr.view(-1)
        h0 = self.embedding(data.x.view(-1))
        h, state = h0, None
        for step in range(self.n_layers):
            d = self.dropout(h)
            m = _bond_messages(self.message[0 if self.weight_tying else step], d, src, dst, bond, self.n_bond_types)
            h = state = self.update(torch.cat([d, m.to(d.dtype)], dim=-1), state)
        gate = torch.sigmoid(self.readout_gate(torch.cat([h, h0], dim=-1)))
        g = _sum_pool(gate * self.readout_value(h), _batch_vector(data), _num_graphs(data))
        return self.output(self.mlp(g))


@register_model("ggnn_embedding_state")
class GGNNEmbeddingState(nn.Module):
    """This project's first GGNN, kept as the ablation of issue 13: the atom embedding is the initial
    state of a PyTorch ``GRUCell`` whose input is the message alone (``h = GRU(m, h)``), so each
    atom's embedding is carried forward through the ``(1 - z) h`` path; dropout touches only the
    message input; head dropout, linear, ReLU, linear; PyTorch initialisation.
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
            agg = _bond_messages(lin, self.dropout(h), src, dst, bond, self.n_bond_types)
            h = self.update(agg, h)
        gate = torch.sigmoid(self.readout_gate(torch.cat([h, h0], dim=-1)))
        g = _sum_pool(gate * self.readout_value(h), _batch_vector(data), _num_graphs(data))
        return self.output(self.mlp(g))


@register_model("nfp")
class NFP(nn.Module):
    """Neural fingerprint (Duvenaud et al. 2015) as chainer-chemistry's ``NFP`` with the BayesGrad
    code's dropout (``NFPDrop``) and head.

    Each layer: ``d = dropout(h)``; ``s_v = d_v + sum_{u ~ v} d_u`` (self and neighbours);
    ``h_v = sigmoid(W_{deg(v)} s_v + b)`` with one weight matrix per neighbour count 0..max_degree
    and one bias shared by all degrees (chainer-chemistry adds every degree's bias to every atom;
    an atom with more than ``max_degree`` neighbours gets the bias alone, as there); then the
    layer's fingerprint ``sum_v softmax(F_l h_v)``. The molecule's fingerprint sums the layers'
    (after each update only: none of the embedding), then the head (dropout, linear).
    """

    def __init__(self, n_atom_types: int = N_ATOM_TYPES, hidden_dim: int = 16, n_layers: int = 4,
                 n_out: int = 1, dropout: float = 0.25, fp_dim: int | None = None, max_degree: int = 6,
                 head_layers: int = 1):
        super().__init__()
        fp_dim = fp_dim or hidden_dim
        self.max_degree, self.hidden_dim = max_degree, hidden_dim
        self.embedding = nn.Embedding(n_atom_types, hidden_dim)
        # layer l, degree d: weight[l, d] (out x in), as GraphLinear(hidden, hidden) per degree
        self.degree_weight = nn.ParameterList(
            nn.Parameter(torch.empty(max_degree + 1, hidden_dim, hidden_dim).normal_(0.0, hidden_dim ** -0.5))
            for _ in range(n_layers))
        self.degree_bias = nn.ParameterList(nn.Parameter(torch.zeros(hidden_dim)) for _ in range(n_layers))
        self.fingerprint = nn.ModuleList(nn.Linear(hidden_dim, fp_dim) for _ in range(n_layers))
        self.dropout = nn.Dropout(dropout)
        self.mlp = dropout_head(fp_dim, hidden_dim, n_out, head_layers, dropout)
        self.output = OutputScale(n_out)
        chainer_init_(self)

    def forward(self, data) -> torch.Tensor:
        src, dst = data.edge_index
        h = self.embedding(data.x.view(-1))
        deg = torch.bincount(dst, minlength=h.shape[0])  # in-degree, as torch_geometric.utils.degree
        known = (deg <= self.max_degree).unsqueeze(-1)
        deg = deg.clamp(max=self.max_degree)
        batch, num_graphs = _batch_vector(data), _num_graphs(data)
        fp = None
        for weight, bias, fp_lin in zip(self.degree_weight, self.degree_bias, self.fingerprint):
            d = self.dropout(h)
            s = d + torch.zeros_like(d).index_add_(0, dst, d[src])
            # every degree's map at once (atoms, degrees, out), then each atom's own degree
            y = torch.einsum("ni,doi->ndo", s, weight.to(s.dtype))
            y = y.gather(1, deg.view(-1, 1, 1).expand(-1, 1, y.shape[-1])).squeeze(1)
            out = torch.where(known, y, torch.zeros_like(y))
            h = torch.sigmoid(out + bias)
            layer_fp = _sum_pool(torch.softmax(fp_lin(h), dim=-1), batch, num_graphs)
            fp = layer_fp if fp is None else fp + layer_fp
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
