"""IMDB targets: "Explanatory masks" section 3.2 and the recurrent-model part of "Gradients of
counterfactuals" (section 3.2)."""
from ...report.targets import Check, Target, within

TARGETS = [
    Target("masks.imdb.test_accuracy", "masks", "IMDB BiGRU(256) test accuracy", "84.7%",
           (within(0.847, 0.02),), "within 2 percentage points"),
    Target("masks.imdb.masked_accuracy", "masks", "IMDB BiGRU test accuracy with the explanation mask", "81.8%",
           (within(0.818, 0.02),), "within 2 percentage points"),
    Target("masks.imdb.top_words", "masks", "IMDB: top words of positive and negative reviews by mask weight",
           "figure 3 (right)"),
    Target("counterfactuals.imdb.completeness", "counterfactuals",
           "IMDB recurrent model: word IG sums to the prediction (completeness)", "sums to the prediction",
           (Check("median_rel_error", "<", 0.01),)),
    Target("counterfactuals.imdb.saturation", "counterfactuals",
           "IMDB recurrent model: score saturates along the scaling path, gradients tiny at the input",
           "saturation", (Check("median_tail_share", "<", 0.10),), "a linear path gives 10%"),
    # Not a number of either paper: the project's one faithfulness metric (deletion AOPC over words)
    # turned on the paper's claim that integrated gradients explain the prediction where the
    # saturated gradient does not.
    Target("counterfactuals.imdb.aopc_ranking", "counterfactuals",
           "IMDB word deletion AOPC: integrated gradients above the gradient and a random order",
           "IG explains, gradients do not (qualitative)",
           (Check("ig_minus_gradient", ">", 0.0), Check("ig_minus_random", ">", 0.0)),
           "our operationalisation with the shared faithfulness metric"),
]
