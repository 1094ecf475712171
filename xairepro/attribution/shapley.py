"""Shapley value sampling: the chimera estimator and the permutation sampler.

``method="chimera"`` is eq. 10.9 of the dmol.pub interpretability chapter
(Štrumbelj & Kononenko 2014): for feature ``i``, draw an example ``z`` from a
background set (the data as an empirical distribution) and a random permutation;
``x+`` takes the features up to and including ``i`` in that order from ``x`` and
the rest from ``z``; ``x-`` takes only those strictly before ``i`` from ``x``;
``phi_i`` is the mean of ``f(x+) - f(x-)``.  Sampling ``z`` jointly keeps the
features' correlations, which is why the chapter prefers it over independent
feature marginals.  (The chapter's own code draws a Bernoulli subset instead of
a permutation; the permutation is the estimator of the cited paper.)

``method="permutation"`` is captum's ``ShapleyValueSampling``: for each random
permutation, add the feature groups one by one to a fixed ``baseline`` and
credit each group with the change of the score.  With the same global seed it
draws the same permutations as captum (``torch.randperm`` in the same order),
so the two agree to float precision.

Both are model-agnostic (forward passes only, any dtype, e.g. token ids or
one-hot rows) and batched: all evaluations go through the model in chunks of
``max_batch`` examples.  ``compute`` returns the ``M = n_samples`` per-sample
marginal contributions, so ``aggregate(..., "raw")`` is the Shapley estimate
and ``return_std=True`` its sampling spread.  Following captum, every element of
a feature group carries the group's value: use ``channel_axis=None``, or
``last_group_values`` ``(batch, n_groups)``.

Feature masks may be shared by the batch or given per example (``(batch, *shape)``);
tuple inputs take a tuple of masks (ids shared across inputs, as in captum), a tuple of
backgrounds or baselines, and return a tuple.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .base import (Attribution, _forked_rng, _per_input, _tile_target_class,
                   default_output_fn, eval_mode, feature_groups, flat_feature_mask,
                   inputs_device)

__all__ = ["ShapleySampling"]


class ShapleySampling(Attribution):
    """Shapley values of the input features of a tensor batch ``(B, ...)`` or a tuple of them.

    method
        ``"chimera"`` (the default; needs ``background``, a tensor ``(n_bg, ...)``, or a
        tuple of them for tuple inputs) or ``"permutation"`` (captum's
        ``ShapleyValueSampling``; uses ``baseline``).
    n_samples
        samples per feature (chimera) or permutations (permutation); ``compute``'s
        ``M`` overrides it.
    feature_mask
        integer group ids ``0..G-1`` with the per-example shape (or broadcastable
        to it), ``(1, *shape)``, or ``(B, *shape)`` for one mask per example; default:
        every element is its own feature.  For one-hot sequences ``(L, A)``,
        ``torch.arange(L)[:, None]`` makes positions the players.
    target
        the output index (captum's name; ``target_class=`` is the deprecated one).
        Works on the inputs only: ``layer=`` is refused.
    """

    attributes_integer_inputs = True
    engine_carries_pass = False

    def __init__(self, model, method: str = "chimera", n_samples: int = 100,
                 background: Optional[Tensor] = None, baseline=0.0,
                 feature_mask: Optional[Tensor] = None, **kwargs):
        super().__init__(model, kwargs.pop("layer", None), baseline=baseline, **kwargs)
        if self.layer is not None:
            raise ValueError("ShapleySampling works on the inputs (layer=None); the output "
                             "index is target=")
        if method not in ("chimera", "permutation"):
            raise ValueError("method must be 'chimera' or 'permutation'")
        if method == "chimera" and background is None:
            raise ValueError(
                "ShapleySampling's default estimator, method='chimera', draws the missing "
                "features from a background set: pass background=<tensor (n_bg, ...) of "
                "examples>, or choose the permutation estimator (captum's "
                "ShapleyValueSampling), which fills them from a fixed baseline: "
                "ShapleySampling(model, method='permutation', baseline=0.0)")
        self.method, self.n_samples = method, int(n_samples)
        self.background, self.feature_mask = background, feature_mask

    def _flat_setup(self, method, items, attributed, n):
        if self.feature_mask is not None:
            self.feature_mask = flat_feature_mask(self.feature_mask, items, attributed, n)
        if self.background is not None:
            bgs = _per_input(self.background, len(items), "background") \
                if isinstance(self.background, (tuple, list)) else [self.background]
            if len(bgs) == len(items) and len(items) != len(attributed):
                bgs = [bgs[i] for i in attributed]
            if len(bgs) != len(attributed):
                raise ValueError("tuple inputs need a tuple of backgrounds, one per input")
            dtype = self._example_baseline.dtype
            self.background = torch.cat([b.reshape(b.shape[0], -1).to(dtype) for b in bgs], 1)

    # ------------------------------------------------------------------ helpers
    def _groups(self, feat_shape, device, n_examples: int = 1) -> tuple[Tensor, int]:
        """Flat group ids ``(F,)`` (shared) or ``(B, F)`` (per example), and ``G``."""
        if self.feature_mask is None:
            n = 1
            for s in feat_shape:
                n *= s
            return torch.arange(n, device=device), n
        return feature_groups(self.feature_mask, feat_shape, n_examples, device)

    def _scores(self, x: Tensor, tc_batch: int) -> Tensor:
        """Scores of a stacked batch whose examples cycle through the ``B`` inputs."""
        out = self.model(x)
        k = x.shape[0] // tc_batch
        if self.output_fn is not None:
            return self.output_fn(out)
        return default_output_fn(out, _tile_target_class(self.output_index, 0, tc_batch, k))

    def _compute(self, inputs: Tensor, M: Optional[int] = None, seed: Optional[int] = 0) -> Tensor:
        if not isinstance(inputs, Tensor):
            raise TypeError("ShapleySampling takes a tensor batch (B, ...) or a tuple of them")
        n = int(M or self.n_samples)
        with eval_mode(self.model), _forked_rng(inputs_device(inputs), seed), torch.no_grad():
            if self.method == "chimera":
                return self._chimera(inputs, n, seed)
            return self._permutation(inputs, n)

    # ------------------------------------------------------------------ chimera
    def _chimera(self, x: Tensor, n: int, seed) -> Tensor:
        dev = x.device
        B, feat_shape = x.shape[0], x.shape[1:]
        fm, G = self._groups(feat_shape, dev, B)
        bg = self.background.to(dev, x.dtype).reshape(self.background.shape[0], -1)
        xf = x.reshape(B, -1)
        gen = torch.Generator(device=dev)
        gen.manual_seed(0 if seed is None else int(seed))
        # pairs (group g, sample s), g-major; each pair costs 2 evaluations per example
        n_pairs = G * n
        per_pass = max(1, self.max_batch // (2 * B))
        contrib = torch.empty(n_pairs, B, dtype=torch.float32, device=dev)
        for p0 in range(0, n_pairs, per_pass):
            p1 = min(n_pairs, p0 + per_pass)
            kp = p1 - p0
            g = torch.arange(p0, p1, device=dev) // n                        # (kp,)
            ranks = torch.rand(kp, B, G, generator=gen, device=dev).argsort(-1).argsort(-1)
            z = bg[torch.randint(0, bg.shape[0], (kp, B), generator=gen, device=dev)]
            rank_g = ranks.gather(2, g.view(kp, 1, 1).expand(kp, B, 1))     # (kp, B, 1)
            if fm.dim() == 1:
                el_rank = ranks[:, :, fm]                                    # (kp, B, F)
            else:  # one mask per example
                el_rank = ranks.gather(2, fm.unsqueeze(0).expand(kp, -1, -1))
            xx = xf.unsqueeze(0)
            plus = torch.where(el_rank <= rank_g, xx, z)
            minus = torch.where(el_rank < rank_g, xx, z)
            both = torch.stack([plus, minus]).reshape(2 * kp * B, *feat_shape)
            s = self._scores(both, B).view(2, kp, B).float()
            contrib[p0:p1] = s[0] - s[1]
        per = contrib.view(G, n, B).permute(1, 2, 0)                          # (n, B, G)
        return self._spread(per, fm, feat_shape)

    # -------------------------------------------------------------- permutation
    def _permutation(self, x: Tensor, n: int) -> Tensor:
        dev = x.device
        B, feat_shape = x.shape[0], x.shape[1:]
        fm, G = self._groups(feat_shape, dev, B)
        if self._example_baseline is not None:
            base = self._example_baseline.to(dev, x.dtype).reshape(B, -1)
        elif torch.is_floating_point(x):
            base = self._baseline_like(x).expand_as(x).reshape(B, -1)
        else:
            base = torch.as_tensor(self.baseline, device=dev).to(x.dtype).expand_as(x).reshape(B, -1)
        xf = x.reshape(B, -1)
        # same draws as captum's _perm_generator: torch.randperm on the global RNG
        perms = torch.stack([torch.randperm(G) for _ in range(n)]).to(dev)   # (n, G)
        ranks = perms.argsort(-1)                                            # rank of each group
        # state j of permutation s: groups with rank < j come from x
        n_states = n * (G + 1)
        per_pass = max(1, self.max_batch // B)
        scores = torch.empty(n_states, B, dtype=torch.float32, device=dev)
        for s0 in range(0, n_states, per_pass):
            s1 = min(n_states, s0 + per_pass)
            idx = torch.arange(s0, s1, device=dev)
            smp, j = idx // (G + 1), idx % (G + 1)
            el_rank = ranks[smp][:, fm]                                      # (k, [B,] F)
            j = j.view(-1, *([1] * (el_rank.dim() - 1)))
            take = el_rank < j
            if take.dim() == 2:
                take = take.unsqueeze(1)
            states = torch.where(take, xf.unsqueeze(0), base.unsqueeze(0))
            scores[s0:s1] = self._scores(states.reshape(-1, *feat_shape), B).view(-1, B).float()
        scores = scores.view(n, G + 1, B)
        marg = scores[:, 1:] - scores[:, :-1]                                # (n, G, B) by rank
        per = torch.empty(n, B, G, dtype=marg.dtype, device=dev)
        per.scatter_(2, perms.unsqueeze(1).expand(n, B, G), marg.permute(0, 2, 1))
        return self._spread(per, fm, feat_shape)

    def _spread(self, per: Tensor, fm: Tensor, feat_shape) -> Tensor:
        """(n, B, G) group contributions -> (n, B, *feat_shape) element samples."""
        self.last_group_values = per.mean(0)
        n, B, _ = per.shape
        if fm.dim() == 1:
            return per[:, :, fm].reshape(n, B, *feat_shape)
        return per.gather(2, fm.unsqueeze(0).expand(n, -1, -1)).reshape(n, B, *feat_shape)
