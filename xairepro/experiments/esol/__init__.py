"""ESOL solubility: BayesGrad paper section 4.3 and the saliency blog's GGNN example.

Graph networks with dropout are trained with seeded k-fold cross-validation; each molecule is
predicted and attributed by the model that did not see it. Attributions are signed
input x gradient on the atom embedding (baseline 0, the mean of the embedding's prior), averaged
over M MC-dropout samples (BayesGrad), with VanillaGrad and SmoothGrad beside it.

Modules: ``data`` (featurize, folds), ``training`` (one fold's model), one module per study —
``attribution`` (held-out predictions, atom scores, environment table), ``maps`` (named
molecules), ``faithfulness`` (deletion/insertion AOPC of every method) — ``targets`` and
``reproduction``.
"""
