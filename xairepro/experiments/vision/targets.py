"""CIFAR-10 targets: "Gradients of counterfactuals" sections 2.1-2.5 (on CIFAR-10 instead of
ImageNet), "Explanatory masks" section 3.1 and the saliency blog's image examples.

The counterfactuals paper studies three networks this pipeline does not have; :data:`ADAPTATION`
says what stands in for each and why, and the claims that need ImageNet itself (bounding-box
localisation) are declared ``not_applicable`` with the reason."""
from ...report.targets import Check, Target, within

#: the methods of the Fig. 5 claim, by their registered names: integrated gradients above the
#: gradient at the image (the AOPC study tests this pair on each network)
PAIRED_TEST = ("integrated_gradients", "vanilla_grad")

#: Intermediate-layer saturation (Fig. 12): a block's distance to its activations at the image,
#: d(alpha), is read at this alpha: the share (d(0) - d(a)) / (d(0) - d(1)) of the whole change done
#: by then. A block whose activations respond linearly (or affinely) to the scaling gives exactly a;
#: a saturating one more.
LAYER_SHARE_ALPHA = 0.5
#: ... and the paper's deepest-layer statement (mixed5b: cosine distance < 0.01 for alpha > 0.6) is
#: read at this alpha (reported, not a check: our deepest block has 4,096 neurons, theirs 50,176).
LAYER_COSINE_ALPHA = 0.6

#: The counterfactuals paper's networks and data, what this pipeline uses instead, and why.
ADAPTATION = [
    {"paper": "Inception (GoogLeNet) on ImageNet (224 x 224 images, 1,000 classes)",
     "ours": "pre-activation ResNet on CIFAR-10 (ResNet-164 at full scale, ResNet-20 at quick and cpu scale)",
     "experiment": "vision",
     "why": "ImageNet is not one of this pipeline's downloads (about 150 GB, licence-gated) and the paper's "
            "Inception checkpoint is not available offline; CIFAR-10 is the masks paper's data set"},
    {"paper": "Weave (W2N2-simple) ligand-based virtual-screening network on PCBA tasks",
     "ours": "Tox21 GGNN and NFP graph networks (the BayesGrad paper's models)", "experiment": "tox21",
     "why": "the paper's screening network and its training data are proprietary (Google's internal "
            "model); Tox21 is public and already in this pipeline"},
    {"paper": "LSTM language model on Penn Treebank", "ours": "IMDB BiGRU sentiment classifier (the masks paper's)",
     "experiment": "text",
     "why": "Penn Treebank is licence-restricted (LDC) and not offline here; IMDB is the masks paper's text "
            "data and already in this pipeline"},
]

_NO_IMAGENET = ("needs ImageNet images with human-drawn bounding boxes (ILSVRC 2012 localisation) and the "
                "paper's Inception network; CIFAR-10 has no boxes, and ImageNet is not one of this pipeline's "
                "downloads")

TARGETS = [
    Target("masks.cifar10.test_accuracy", "masks", "CIFAR-10 pre-activation ResNet test accuracy",
           "94.04% (ResNet-164 v2)", (within(0.9404, 0.01),), "within 1 percentage point"),
    # The paper gives no CIFAR-10 masked accuracy; its claim is the mask network's goal, "as small an
    # explanation as possible while still preserving the predictive accuracy of the original network"
    # (its IMDB mask: 84.7% -> 81.8%, 2.9 points lost). Checked on every mask seed: the accuracy lost to
    # the mask within the paper's own IMDB tolerance, and a mask that removes something.
    Target("masks.cifar10.masked_accuracy", "masks", "CIFAR-10 test accuracy on mask-multiplied images",
           "no CIFAR-10 number; the mask preserves the network's accuracy while being small "
           "(IMDB: 84.7% -> 81.8%)",
           (Check("accuracy_drop", "<=", 0.03), Check("mask_mean", "<", 0.5)),
           "accuracy_drop = unmasked - masked test accuracy; one mask network per mask seed, the classifier fixed",
           over_seeds=True),
    Target("counterfactuals.cifar10.saturation", "counterfactuals",
           "CIFAR-10 CNN: top-class score saturates along the scaling path (Fig. 2)",
           "most of the change happens at small alpha",
           (Check("median_tail_share", "<", 0.10),), "share of the softmax change over alpha in [0.9, 1]"),
    Target("counterfactuals.cifar10.layer_saturation", "counterfactuals",
           "CIFAR-10 CNN: intermediate layers saturate too (Fig. 12)",
           "the distance between a layer's activations at alpha * x and at x flattens as alpha grows "
           "(Inception, 30 images; mixed5b: cosine distance < 0.01 for alpha > 0.6)",
           (Check("min_block_share", ">=", 0.6),),
           f"relative L2 distance per residual block and the pooled features; share of its change done by "
           f"alpha = {LAYER_SHARE_ALPHA:g} (a block that scales linearly gives {LAYER_SHARE_ALPHA:g}), median over "
           f"images, the smallest over blocks"),
    Target("counterfactuals.imagenet.bbox_localisation", "counterfactuals",
           "ImageNet Inception: integrated gradients put more attribution inside the human-drawn bounding box "
           "than the gradient at the image", "82 of 100 images; 8.4% more attribution inside the box on average",
           (Check("ig_wins", ">=", 82),), not_applicable=_NO_IMAGENET),
    Target("counterfactuals.cifar10.completeness", "counterfactuals",
           "CIFAR-10 CNN: IG sums to F(x) - F(0) (completeness)", "sums to the prediction",
           (Check("median_rel_error", "<", 0.01),)),
    Target("counterfactuals.cifar10.aopc_ig_vs_gradient", "counterfactuals",
           "CIFAR-10 CNN: pixel-ablation AOPC higher for IG than for the gradient (Fig. 5)", "IG above gradient",
           (Check("ig_minus_gradient", ">", 0.0),)),
    Target("blog.cifar10.saliency", "saliency blog",
           "CIFAR-10 CNN with dropout: VanillaGrad, SmoothGrad, BayesGrad, BayesSmoothGrad maps", "figure"),
]
