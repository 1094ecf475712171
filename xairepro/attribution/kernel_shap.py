"""Kernel SHAP (Lundberg & Lee 2017): Shapley values as the weighted least-squares fit of a linear model
on coalitions of players.

A coalition ``z`` (a 0/1 vector over the ``G`` players) keeps the players it holds and sets the others to
``baselines``; ``phi`` minimises ``sum_z pi(z) (f(z) - f(empty) - z . phi)^2`` subject to
``sum phi = f(x) - f(empty)``, with the Shapley kernel ``pi(z) = (G - 1) / (C(G, |z|) |z| (G - |z|))``. With
every coalition (``2^G - 2 <= n_samples``) the solution is the exact Shapley value of the game
``v(S) = f(x_S, baseline_rest)``; otherwise ``n_samples`` coalitions are drawn, their sizes from the kernel
(each then weighs 1), in complementary pairs (``z`` and ``1 - z``), from a seeded generator.

Players are as captum's ``KernelShap`` has them: ``feature_mask`` groups (ids ``0..G-1`` shared by the
batch), else every element of the input, or at a layer (``layer=``) every row of its ``(B, T, C)`` output
(a token, a SMILES character). The regression needs many more coalitions than players: above
``max_players`` the method does not apply (:class:`MethodNotApplicable`, with the count). Attributions
are additive, as occlusion's and Shapley sampling's: each element of a group holds the group's value
divided by its size (captum gives every element the whole value); the group values are in
``Explanation.extras["group_values"]``, ``f(empty)`` in ``extras["base_value"]``.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ._utils.batching import is_graph_batch
from ._utils.feature_masks import feature_groups, flat_feature_mask, group_sizes
from ._utils.passes import Chunk
from .core import Call, PerturbationAttribution, Result
from .registry import MethodNotApplicable, register_method

__all__ = ["KernelShap", "coalitions", "shapley_kernel"]

#: players above which the method does not apply unless ``max_players`` says otherwise
DEFAULT_MAX_PLAYERS = 160


def shapley_kernel(G: int, sizes: Tensor) -> Tensor:
    """The Shapley kernel weight of a coalition of each size in ``sizes`` among ``G`` players."""
    sizes = sizes.double()
    binom = torch.exp(torch.lgamma(torch.tensor(G + 1.0, dtype=torch.float64)) - torch.lgamma(sizes + 1)
                      - torch.lgamma(G - sizes + 1))
    return (G - 1) / (binom * sizes * (G - sizes))


def coalitions(G: int, n_samples: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``(Z, weights)``: every proper non-empty coalition with its kernel weight when there are at most
    ``n_samples``, else ``n_samples`` (rounded up to even) drawn in complementary pairs, sizes from the kernel,
    each of weight 1."""
    if G < 2:
        return torch.ones(1, max(G, 1), dtype=torch.bool), torch.ones(1, dtype=torch.float64)
    if G < 63 and (1 << G) - 2 <= n_samples:
        codes = torch.arange(1, (1 << G) - 1)
        Z = (codes.unsqueeze(1) >> torch.arange(G)) & 1
        Z = Z.bool()
        return Z, shapley_kernel(G, Z.sum(1))
    sizes = torch.arange(1, G)
    p = (G - 1) / (sizes * (G - sizes)).double()         # the kernel's mass on each size (weight x subsets)
    half = (int(n_samples) + 1) // 2
    k = sizes[torch.multinomial(p / p.sum(), half, replacement=True, generator=generator)]
    ranks = torch.rand(half, G, generator=generator, dtype=torch.float64).argsort(1).argsort(1)
    Z = ranks < k.unsqueeze(1)
    Z = torch.cat([Z, ~Z])
    return Z, torch.ones(Z.shape[0], dtype=torch.float64)


@register_method("kernel_shap")
class KernelShap(PerturbationAttribution):
    """Kernel SHAP at the input or at a layer (its rows), for tensor batches.

    feature_mask
        integer group ids ``0..G-1`` of the per-example shape (or broadcastable to it), one for the batch;
        default: every element (at a layer: every row) is a player.
    n_samples
        coalitions drawn (default ``2 G + 2048``, the shap package's); all of them when ``2^G - 2`` is no more.
    max_players
        the most players it explains (default 160: the iris features, the SMILES strings' positions and the
        peptides' residues fit, the reviews' words do not); more make it not applicable, with the count.

    Deterministic for a seed: one sample whatever ``M``.
    """

    carries_unattributed = False

    def __init__(self, model, layer=None, *, feature_mask: Optional[Tensor] = None, n_samples: Optional[int] = None,
                 max_players: int = DEFAULT_MAX_PLAYERS, **kwargs):
        super().__init__(model, layer, **kwargs)
        if n_samples is not None and int(n_samples) < 2:
            raise ValueError("kernel_shap: n_samples must be >= 2")
        if int(max_players) < 1:
            raise ValueError("kernel_shap: max_players must be >= 1")
        self.feature_mask, self.max_players = feature_mask, int(max_players)
        self.n_samples = None if n_samples is None else int(n_samples)
        self.options.update(feature_mask=feature_mask, n_samples=self.n_samples, max_players=self.max_players)

    @classmethod
    def applicable(cls, model, settings):
        mask = settings.get("feature_mask")
        limit = int(settings.get("max_players", DEFAULT_MAX_PLAYERS))
        if isinstance(mask, Tensor) and mask.numel() and int(mask.max()) + 1 > limit:
            return _too_many(int(mask.max()) + 1, limit)
        return None

    def _flat_setup(self, call: Call) -> None:
        if self.feature_mask is not None:
            flat = call.flat
            call.extra["feature_mask"] = flat_feature_mask(self.feature_mask, flat.items, flat.attributed,
                                                           flat.flat.shape[0])

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        if is_graph_batch(inputs):
            raise MethodNotApplicable("kernel_shap: graph batches have a different number of atoms per molecule; "
                                      "Kernel SHAP's coalitions need one set of players for the batch")
        clean = self._forward(model, call, inputs, 1, None, None)
        shape, f_x = tuple(clean.values.shape[1:]), clean.scores[0].double()      # (B, *feat), (B,)
        B = shape[0]
        mask = call.extra.get("feature_mask", self.feature_mask)
        where = "the layer output" if self.layer is not None else "input 0"
        if mask is None and self.layer is not None:
            if len(shape) < 2:
                raise ValueError(f"kernel_shap at a layer takes its rows as players: (B, T, C), got {shape}")
            mask = torch.arange(shape[1]).view(-1, *([1] * (len(shape) - 2)))
        if mask is None:
            G, fm = int(torch.Size(shape[1:]).numel()), None
        else:
            fm, G = feature_groups(mask, shape[1:], B, clean.scores.device, where)
            if fm.dim() != 1:
                raise ValueError("kernel_shap: one feature_mask for the batch (the coalitions are shared)")
        if G > self.max_players:
            raise MethodNotApplicable(f"kernel_shap: {_too_many(G, self.max_players)}")
        if fm is None:
            fm = torch.arange(G, device=clean.scores.device)
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        n_samples = self.n_samples if self.n_samples is not None else 2 * G + 2048
        Z, w = coalitions(G, n_samples, gen)
        states = torch.cat([torch.zeros(1, G, dtype=torch.bool), Z])                # row 0: the empty coalition

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            k, b = v.shape[0], v.shape[1]
            keep = states.to(v.device)[chunk.copies.to(v.device)][:, fm.to(v.device)]   # (k, F)
            base = call.baseline_like(v, chunk).expand_as(v).reshape(k, b, -1)
            return torch.where(keep.unsqueeze(1), v.reshape(k, b, -1), base).reshape(v.shape)

        run = self._forward(model, call, inputs, states.shape[0], perturb, seed)
        f_empty, f_z = run.scores[0].double(), run.scores[1:].double()               # (B,), (S, B)
        phi = _constrained_wls(Z.double(), w, f_z - f_empty, f_x - f_empty)            # (B, G)
        sizes = group_sizes(fm, G).to(phi.dtype).clamp_min(1)
        per_element = (phi / sizes)[:, fm.cpu()].reshape(shape)
        return Result(per_element.to(clean.values).unsqueeze(0), clean.scores[:1].clone(),
                      extras={"group_values": phi, "base_value": f_empty})


def _too_many(G: int, limit: int) -> str:
    return (f"{G} players exceed max_players={limit}: Kernel SHAP's weighted regression needs many more "
            "coalitions than players (set method_options.kernel_shap.max_players, or group the players with "
            "feature_mask)")


def _constrained_wls(Z: Tensor, w: Tensor, y: Tensor, total: Tensor) -> Tensor:
    """``phi`` ``(B, G)`` minimising ``sum_s w_s (y_sb - Z_s . phi_b)^2`` with ``sum phi_b = total_b``: the last
    player is eliminated (``phi_G = total - sum_{i<G} phi_i``) and the rest solved by least squares."""
    Z, w, y, total = Z.cpu(), w.cpu(), y.cpu(), total.cpu()
    G = Z.shape[1]
    if G == 1:
        return total.view(-1, 1)
    X = Z[:, :-1] - Z[:, -1:]                                                        # (S, G-1)
    rhs = y - Z[:, -1:] * total.unsqueeze(0)                                         # (S, B)
    sw = w.sqrt().unsqueeze(1)
    # SVD-based (gelsd): rank-deficient draws get the least-norm solution, and reruns are bitwise equal
    head = torch.linalg.lstsq(sw * X, sw * rhs, driver="gelsd").solution              # (G-1, B)
    return torch.cat([head.t(), (total - head.sum(0)).unsqueeze(1)], 1)
