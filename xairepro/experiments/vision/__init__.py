"""CIFAR-10 vision experiment.

Reproduces, on CIFAR-10 with pre-activation ResNets (ResNet-164 at full scale, ResNet-20 at the
quick and cpu scales):

* "Gradients of counterfactuals" (Sundararajan, Taly & Yan), sections 2.1-2.5 on CIFAR-10 instead of
  ImageNet (:data:`.targets.ADAPTATION` says why; the ImageNet-only bounding-box claim is declared
  not applicable): saturation of the top-class score along the scaling path and of every block's
  activations (Fig. 12, :mod:`.layers`), interior gradients, integrated gradients beside the
  gradient at the image with the completeness check, and the pixel-ablation AOPC through the
  leaderboard's faithfulness protocol (:mod:`.counterfactuals`, :mod:`.aopc`);
* "Explanatory masks" (Phillips, Goh & Hodas), section 3.1: the mask network on the frozen
  classifier's pooled features, masked accuracy and mask sparsity, one mask network per mask seed
  (:mod:`.masks`);
* the chainer-chemistry saliency blog's image examples: VanillaGrad, SmoothGrad, BayesGrad and
  BayesSmoothGrad on a classifier with dropout, and the BayesGrad uncertainty map (:mod:`.saliency`).

The studies that compare methods name them in config (canonical names) and build every method
with the explainer of :mod:`.settings` (the pixel unit, one settings dict); each is
``<name>_study(inputs, cfg, *, ctx)``. Data (:mod:`.data`) is read once into a tensor cache; the
classifiers are trained by the project's one loop (:func:`.training.train_vision`; the dropout
variant fine-tuned from the classifier), the mask network by :func:`.masks.train_vision_mask`;
:mod:`.reproduction` writes the rows of :mod:`.targets`.
"""
