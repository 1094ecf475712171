"""Shapley value sampling: the chimera estimator and the permutation sampler.

``estimator="chimera"`` is eq. 10.9 of the dmol.pub interpretability chapter (Štrumbelj &
Kononenko 2014): for feature ``i``, draw an example ``z`` from a background set and a random
permutation; ``x+`` takes the features up to and including ``i`` in that order from ``x`` and the
rest from ``z``, ``x-`` only those strictly before ``i``; ``phi_i`` is the mean of ``f(x+) - f(x-)``.
Drawing ``z`` jointly keeps the features' correlations. (The chapter's code draws a Bernoulli subset
instead of a permutation; the permutation is the estimator of the cited paper.)

``estimator="permutation"`` is captum's ``ShapleyValueSampling``: for each random permutation, add
the feature groups one by one to a fixed ``baselines`` and credit each group with the change of the
score. With the same global seed it draws the same permutations as captum (``torch.randperm`` in the
same order), so the two agree to float precision.

Both are model-agnostic (forward passes only, any dtype) and batched in chunks of ``max_batch``
examples. The ``M`` samples are the per-sample marginal contributions, so their mean is the Shapley
estimate and their spread its sampling error. Attributions are additive, as occlusion's: each
element of a group holds the group's value divided by the group's size (captum gives every element
the whole value), and the group values are in ``Explanation.extras["group_values"]``.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ._utils.feature_masks import feature_groups, flat_feature_mask, group_sizes
from ._utils.modes import eval_mode, forked_rng
from ._utils.scores import score_of, tile_target
from ._utils.tuples import per_input
from .core import Call, PerturbationAttribution, Result
from .registry import register_method

__all__ = ["ShapleySampling"]

ESTIMATORS = ("chimera", "permutation")


@register_method("shapley_sampling")
class ShapleySampling(PerturbationAttribution):
    """Shapley values of the input features of a tensor batch ``(B, ...)`` or a tuple of them.

    estimator
        ``"chimera"`` (the default; needs ``background``, a tensor ``(n_bg, ...)`` or one per input of
        a tuple) or ``"permutation"`` (captum's ``ShapleyValueSampling``; uses ``baselines``).
    feature_mask
        integer group ids ``0..G-1`` of the per-example shape (or broadcastable to it), ``(1, *shape)``
        or ``(B, *shape)``; default: every element is a player. For one-hot sequences ``(L, A)``,
        ``torch.arange(L)[:, None]`` makes the positions the players.

    ``M`` (default 100) is the number of samples per feature (chimera) or of permutations.
    Works on the inputs only: ``layer=`` is refused.
    """

    default_M = 100
    carries_unattributed = False

    def __init__(self, model, layer=None, *, estimator: str = "chimera", background: Optional[Tensor] = None,
                 feature_mask: Optional[Tensor] = None, **kwargs):
        if layer is not None:
            raise ValueError("ShapleySampling works on the inputs (layer=None); the output index is target=")
        super().__init__(model, None, **kwargs)
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        if estimator == "chimera" and background is None:
            raise ValueError(
                "ShapleySampling's default estimator, 'chimera', draws the missing features from a background "
                "set: pass background=<tensor (n_bg, ...) of examples>, or choose the permutation estimator "
                "(captum's ShapleyValueSampling), which fills them from a fixed baseline: "
                "ShapleySampling(model, estimator='permutation', baselines=0.0)")
        self.estimator, self.background, self.feature_mask = estimator, background, feature_mask
        self.options.update(estimator=estimator, background=background, feature_mask=feature_mask)

    @classmethod
    def applicable(cls, model, settings):
        if settings.get("layer") is not None:
            return ("Shapley sampling replaces input features; this experiment attributes at a layer "
                    "(an embedding), where the players would be hidden vectors")
        if settings.get("estimator", "chimera") == "chimera" and settings.get("background") is None:
            return "the chimera estimator needs a background set of examples, and none was given"
        return None

    def _flat_setup(self, call: Call) -> None:
        flat = call.flat
        items, attributed, n = flat.items, flat.attributed, flat.flat.shape[0]
        if self.feature_mask is not None:
            call.extra["feature_mask"] = flat_feature_mask(self.feature_mask, items, attributed, n)
        if self.background is not None:
            bgs = per_input(self.background, len(items), "background") \
                if isinstance(self.background, (tuple, list)) else [self.background]
            if len(bgs) == len(items) and len(items) != len(attributed):
                bgs = [bgs[i] for i in attributed]
            if len(bgs) != len(attributed):
                raise ValueError("tuple inputs need a tuple of backgrounds, one per input")
            dtype = flat.baseline.dtype
            call.extra["background"] = torch.cat([b.reshape(b.shape[0], -1).to(dtype) for b in bgs], 1)

    def _groups(self, call: Call, feat_shape, device, n_examples: int) -> tuple[Tensor, int]:
        mask = call.extra.get("feature_mask", self.feature_mask)
        if mask is None:
            n = int(torch.Size(feat_shape).numel())
            return torch.arange(n, device=device), n
        return feature_groups(mask, feat_shape, n_examples, device, "input 0")

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        if not isinstance(inputs, Tensor):
            raise TypeError("ShapleySampling takes a tensor batch (B, ...) or a tuple of them")
        B = inputs.shape[0]

        def scores(x: Tensor) -> Tensor:
            """Scores of a stacked batch whose examples cycle through the ``B`` inputs."""
            return score_of(model(x), tile_target(call.target, 0, B, x.shape[0] // B), call.output_fn)

        with eval_mode(model), forked_rng(inputs.device, seed), torch.no_grad():
            fm, G = self._groups(call, inputs.shape[1:], inputs.device, B)
            if self.estimator == "chimera":
                per = self._chimera(inputs, M, seed, fm, G, scores, call)
            else:
                per = self._permutation(inputs, M, fm, G, scores, call)
            with torch.no_grad():
                clean = scores(inputs).float()
        sizes = group_sizes(fm, G).to(per.dtype).clamp_min(1)
        share = per / (sizes if sizes.dim() == 1 else sizes.unsqueeze(0))            # (n, B, G)
        n = per.shape[0]
        if fm.dim() == 1:
            samples = share[:, :, fm].reshape(n, B, *inputs.shape[1:])
        else:
            samples = share.gather(2, fm.unsqueeze(0).expand(n, -1, -1)).reshape(n, B, *inputs.shape[1:])
        return Result(samples, clean.unsqueeze(0).expand(n, B), extras={"group_values": per.mean(0)})

    def _chimera(self, x: Tensor, n: int, seed, fm: Tensor, G: int, scores, call: Call) -> Tensor:
        dev, B, feat_shape = x.device, x.shape[0], x.shape[1:]
        background = call.extra.get("background", self.background)
        bg = background.to(dev, x.dtype).reshape(background.shape[0], -1)
        xf = x.reshape(B, -1)
        gen = torch.Generator(device=dev)
        gen.manual_seed(0 if seed is None else int(seed))
        n_pairs = G * n  # pairs (group g, sample s), g-major; two evaluations per example each
        per_pass = max(1, self.max_batch // (2 * B))
        contrib = torch.empty(n_pairs, B, dtype=torch.float32, device=dev)
        for p0 in range(0, n_pairs, per_pass):
            p1 = min(n_pairs, p0 + per_pass)
            kp = p1 - p0
            g = torch.arange(p0, p1, device=dev) // n
            ranks = torch.rand(kp, B, G, generator=gen, device=dev).argsort(-1).argsort(-1)
            z = bg[torch.randint(0, bg.shape[0], (kp, B), generator=gen, device=dev)]
            rank_g = ranks.gather(2, g.view(kp, 1, 1).expand(kp, B, 1))
            el_rank = ranks[:, :, fm] if fm.dim() == 1 else ranks.gather(2, fm.unsqueeze(0).expand(kp, -1, -1))
            plus = torch.where(el_rank <= rank_g, xf.unsqueeze(0), z)
            minus = torch.where(el_rank < rank_g, xf.unsqueeze(0), z)
            s = scores(torch.stack([plus, minus]).reshape(2 * kp * B, *feat_shape)).view(2, kp, B).float()
            contrib[p0:p1] = s[0] - s[1]
        return contrib.view(G, n, B).permute(1, 2, 0)                                     # (n, B, G)

    def _permutation(self, x: Tensor, n: int, fm: Tensor, G: int, scores, call: Call) -> Tensor:
        dev, B, feat_shape = x.device, x.shape[0], x.shape[1:]
        if call.flat is not None:
            base = call.flat.baseline.to(dev, x.dtype).reshape(B, -1)
        elif torch.is_floating_point(x):
            base = call.baseline_like(x).expand_as(x).reshape(B, -1)
        else:
            base = torch.as_tensor(call.baselines, device=dev).to(x.dtype).expand_as(x).reshape(B, -1)
        xf = x.reshape(B, -1)
        # the same draws as captum's _perm_generator: torch.randperm on the global RNG
        perms = torch.stack([torch.randperm(G) for _ in range(n)]).to(dev)                # (n, G)
        ranks = perms.argsort(-1)
        n_states = n * (G + 1)  # state j of permutation s: groups of rank < j come from x
        per_pass = max(1, self.max_batch // B)
        out = torch.empty(n_states, B, dtype=torch.float32, device=dev)
        for s0 in range(0, n_states, per_pass):
            s1 = min(n_states, s0 + per_pass)
            idx = torch.arange(s0, s1, device=dev)
            smp, j = idx // (G + 1), idx % (G + 1)
            el_rank = ranks[smp][:, fm]
            take = el_rank < j.view(-1, *([1] * (el_rank.dim() - 1)))
            if take.dim() == 2:
                take = take.unsqueeze(1)
            states = torch.where(take, xf.unsqueeze(0), base.unsqueeze(0))
            out[s0:s1] = scores(states.reshape(-1, *feat_shape)).view(-1, B).float()
        out = out.view(n, G + 1, B)
        marg = out[:, 1:] - out[:, :-1]                                                    # (n, G, B) by rank
        per = torch.empty(n, B, G, dtype=marg.dtype, device=dev)
        per.scatter_(2, perms.unsqueeze(1).expand(n, B, G), marg.permute(0, 2, 1))
        return per
