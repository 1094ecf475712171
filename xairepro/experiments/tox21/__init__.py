"""Tox21: BayesGrad paper sections 4.1-4.2 and the graph-model part of "Gradients of
counterfactuals" (section 3.1).

Modules: ``data`` (featurize, labels, splits), ``training`` (``train_tox21``: the recipes), ``settings``
(what the methods attribute to, the atom unit, the Explainer of a config section, the noise sweep's
sigma), one module per study, each ``<name>_study(inputs, cfg, *, ctx)`` with its methods named in config —
``pyridine`` (synthetic label, PR curves, Table 1 with paired Wilcoxon tests), ``srmmp`` (Fig. 3
maps), ``integrated_gradients`` (completeness, saturation), ``dead_features``, ``faithfulness``
(deletion/insertion AOPC of every method) — ``targets`` (the paper numbers) and ``reproduction``.
"""
