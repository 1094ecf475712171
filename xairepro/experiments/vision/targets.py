"""CIFAR-10 targets: "Gradients of counterfactuals" sections 2.1-2.5 (on CIFAR-10 instead of
ImageNet), "Explanatory masks" section 3.1 and the saliency blog's image examples."""
from ...report.targets import Check, Target, within

#: the methods of the Fig. 5 claim, by their registered names: integrated gradients above the
#: gradient at the image (the AOPC study tests this pair on each network)
PAIRED_TEST = ("integrated_gradients", "vanilla_grad")

TARGETS = [
    Target("masks.cifar10.test_accuracy", "masks", "CIFAR-10 pre-activation ResNet test accuracy",
           "94.04% (ResNet-164 v2)", (within(0.9404, 0.01),), "within 1 percentage point"),
    Target("masks.cifar10.masked_accuracy", "masks", "CIFAR-10 test accuracy on mask-multiplied images",
           "not stated (figure 2 shows masks)", (),
           "reported beside the unmasked accuracy; the paper gives no number"),
    Target("counterfactuals.cifar10.saturation", "counterfactuals",
           "CIFAR-10 CNN: top-class score saturates along the scaling path (Fig. 2)",
           "most of the change happens at small alpha",
           (Check("median_tail_share", "<", 0.10),), "share of the softmax change over alpha in [0.9, 1]"),
    Target("counterfactuals.cifar10.completeness", "counterfactuals",
           "CIFAR-10 CNN: IG sums to F(x) - F(0) (completeness)", "sums to the prediction",
           (Check("median_rel_error", "<", 0.01),)),
    Target("counterfactuals.cifar10.aopc_ig_vs_gradient", "counterfactuals",
           "CIFAR-10 CNN: pixel-ablation AOPC higher for IG than for the gradient (Fig. 5)", "IG above gradient",
           (Check("ig_minus_gradient", ">", 0.0),)),
    Target("blog.cifar10.saliency", "saliency blog",
           "CIFAR-10 CNN with dropout: VanillaGrad, SmoothGrad, BayesGrad, BayesSmoothGrad maps", "figure"),
]
