"""The names of the built-in models and attribution methods, without importing them.

The workflow checks every configured name before any job runs, on every ``snakemake`` call
(``snakemake -n`` included). Importing the registries costs seconds (torch, torch_geometric), so a
config that names only built-in models and methods, with no plugins, is checked against these lists;
any other name imports the registries, which know a user's own. ``tests/test_architecture.py``
checks that these lists equal what the registries hold, and that :data:`BUILTIN_OPTIONS` holds each
built-in method's accepted constructor options (``accepted_options``), against which the config's
``method_options`` are checked without the import.
"""

BUILTIN_MODELS = ("bigru", "bigru_mask_head", "ggnn", "ggnn_embedding_state", "nfp", "peptide_cnn",
                  "preact_resnet", "resnet20", "smiles2vec", "tabular_mlp", "weave")
BUILTIN_METHODS = ("vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad", "bayes_smoothgrad",
                   "integrated_gradients", "occlusion", "shapley_sampling", "explanation_mask", "random",
                   "vargrad", "smoothgrad_sq", "bayes_vargrad", "noisegrad", "fusiongrad", "expected_gradients",
                   "guided_backprop", "grad_cam", "deeplift", "kernel_shap")
_COMMON = ("baselines", "layer", "layer_io", "max_batch", "output_fn", "target")
_NOISE = ("noise_mode", "noise_projection", "stdevs")
BUILTIN_OPTIONS = {
    "vanilla_grad": (*_COMMON, "multiply_by_inputs"),
    "input_x_gradient": (*_COMMON, "multiply_by_inputs"),
    "smoothgrad": (*_COMMON, "multiply_by_inputs", *_NOISE),
    "bayesgrad": (*_COMMON, "multiply_by_inputs"),
    "bayes_smoothgrad": (*_COMMON, "multiply_by_inputs", *_NOISE),
    "integrated_gradients": (*_COMMON, "completeness_tol", "keep_grads", "max_steps", "method", "multiply_by_inputs",
                             "n_steps"),
    "occlusion": (*_COMMON, "feature_mask", "sliding_window_shapes", "strides"),
    "shapley_sampling": (*_COMMON, "background", "estimator", "feature_mask"),
    "explanation_mask": (*_COMMON, "mask_net"),
    "random": _COMMON,
    "vargrad": (*_COMMON, "multiply_by_inputs", *_NOISE),
    "smoothgrad_sq": (*_COMMON, "multiply_by_inputs", *_NOISE),
    "bayes_vargrad": (*_COMMON, "multiply_by_inputs"),
    "noisegrad": (*_COMMON, "multiply_by_inputs", "weight_stdevs"),
    "fusiongrad": (*_COMMON, "multiply_by_inputs", *_NOISE, "weight_stdevs"),
    "expected_gradients": (*_COMMON, "background", "multiply_by_inputs"),
    "guided_backprop": (*_COMMON, "multiply_by_inputs"),
    "deeplift": (*_COMMON, "eps", "multiply_by_inputs"),
    "grad_cam": (*_COMMON, "cam_layer", "cam_size", "interpolate_mode", "relu_attributions"),
    "kernel_shap": (*_COMMON, "feature_mask", "max_players", "n_samples"),
}
#: The registered name of the faithfulness floor (the random order: ``is_floor``); tables are keyed by
#: method name, so the evaluation reads the floor's rows by this one name.
FLOOR_METHOD = "random"
#: Keys of ``method_options.<method>`` every method takes besides its constructor options: its sample
#: count and the elementwise reading of its attributions.
READING_OPTIONS = ("M", "aggregation")
#: The built-in removal operators of each unit kind (``xairepro.evaluation.operators``), against which
#: the config's ``operators`` lists are checked without importing the registry.
BUILTIN_OPERATORS = {
    "atom": ("baseline", "delete", "mean_embedding"),
    "pixel": ("baseline", "blur", "mean_colour", "road"),
    "token": ("baseline", "delete", "draw", "oov"),
    "feature": ("baseline", "draw", "mean", "zero"),
}
#: The config section of each experiment's faithfulness protocol and the kind of unit it removes: where
#: an ``operators`` list is read.
OPERATOR_SECTIONS = {"esol.faithfulness": "atom", "tox21.faithfulness": "atom", "vision.aopc": "pixel",
                     "text.faithfulness": "token", "smiles2vec.faithfulness": "token",
                     "peptides.faithfulness": "token", "iris.faithfulness": "feature"}
