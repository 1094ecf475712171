"""The names of the built-in models and attribution methods, without importing them.

The workflow checks every configured name before any job runs, on every ``snakemake`` call
(``snakemake -n`` included). Importing the registries costs seconds (torch, torch_geometric), so a
config that names only built-in models and methods, with no plugins, is checked against these lists;
any other name imports the registries, which know a user's own. ``tests/test_architecture.py``
checks that these lists equal what the registries hold.
"""

BUILTIN_MODELS = ("bigru", "bigru_mask_head", "ggnn", "ggnn_embedding_state", "nfp", "peptide_cnn",
                  "preact_resnet", "resnet20", "smiles2vec", "tabular_mlp", "weave")
BUILTIN_METHODS = ("vanilla_grad", "input_x_gradient", "smoothgrad", "bayesgrad", "bayes_smoothgrad",
                   "integrated_gradients", "occlusion", "shapley_sampling", "explanation_mask", "random")
