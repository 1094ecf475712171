"""IMDB targets: "Explanatory masks" section 3.2 and the recurrent-model part of "Gradients of
counterfactuals" (section 3.2).

The mask claims rest on one trained mask network in the paper; here they are measured over mask
seeds (``over_seeds=True``: each seed's measures are checked, the verdict counts the seeds), for
both readings of the mask weights (:mod:`.masks`): ``sigmoid`` (per-word weights in [0, 1], the
paper's mask definition; the plain ids) and ``attention`` (a softmax over the review's words,
mean weight one; the ids ending ``_attention``).

The top-words claim: the paper's Figure 3 (right) lists the top five words of positive and negative
reviews as an image (the words are not in its text) and reads them as capturing "general positive
and negative trends". Operationalised, fixed before any run: a top word carries its class's
sentiment when it occurs in at least twice the share of training reviews of that class as of the
other (document frequency, add-one smoothed; ``masks.POLARITY_RATIO``); the claim holds for a seed
when at least 3 of the 5 top words of each class do.
"""
from ...report.targets import Check, Target, within

#: the reproduction ids of each mask reading's claims: (masked accuracy, top words)
READING_TARGETS = {
    "sigmoid": ("masks.imdb.masked_accuracy", "masks.imdb.top_words"),
    "attention": ("masks.imdb.masked_accuracy_attention", "masks.imdb.top_words_attention"),
}

_TOP_WORDS_CHECKS = (Check("top5_positive_polar", ">=", 0.6), Check("top5_negative_polar", ">=", 0.6))
_TOP_WORDS_NOTE = ("per seed: at least 3 of the top 5 words of each class lean to it in the training reviews "
                   "(document-frequency ratio >= 2); Figure 3's words are an image, not in the paper's text")

TARGETS = [
    Target("masks.imdb.test_accuracy", "masks", "IMDB BiGRU(256) test accuracy", "84.7%",
           (within(0.847, 0.02),), "within 2 percentage points"),
    Target("masks.imdb.masked_accuracy", "masks",
           "IMDB BiGRU test accuracy with the explanation mask (per-word sigmoid weights), over mask seeds", "81.8%",
           (within(0.818, 0.02),), "within 2 percentage points, per mask seed", over_seeds=True),
    Target("masks.imdb.top_words", "masks",
           "IMDB: top 5 words of positive and negative reviews by mask weight (sigmoid weights), over mask seeds",
           "figure 3 (right)", _TOP_WORDS_CHECKS, _TOP_WORDS_NOTE, over_seeds=True),
    Target("masks.imdb.masked_accuracy_attention", "masks",
           "IMDB BiGRU test accuracy with the attention reading of the mask (softmax over the review's words, "
           "mean weight 1), over mask seeds", "81.8%",
           (within(0.818, 0.02),), "within 2 percentage points, per mask seed", over_seeds=True),
    Target("masks.imdb.top_words_attention", "masks",
           "IMDB: top 5 words of positive and negative reviews by attention weight, over mask seeds",
           "figure 3 (right)", _TOP_WORDS_CHECKS, _TOP_WORDS_NOTE, over_seeds=True),
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
