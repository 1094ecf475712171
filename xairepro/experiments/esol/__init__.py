"""ESOL solubility: BayesGrad paper section 4.3 and the saliency blog's GGNN example.

Graph networks with dropout are trained with seeded k-fold cross-validation; each molecule is
predicted and attributed by the model that did not see it. Attributions are signed
input x gradient on the atom embedding (baseline 0, the mean of the embedding's prior), averaged
over M MC-dropout samples (``bayesgrad``), with ``vanilla_grad`` and ``smoothgrad`` beside it
(config ``esol.attribution.methods``).

Modules: ``data`` (featurize, folds), ``training`` (``train_esol``: one fold's model), ``settings``
(what the methods attribute to, the atom unit, the Explainer of a config section), one module per
study, each ``<name>_study(inputs, cfg, *, ctx)`` with its methods named in config —
``attribution`` (held-out predictions, atom scores, environment table), ``maps`` (named
molecules), ``faithfulness`` (deletion/insertion AOPC of every method), ``blog_ig`` (the saliency
blog's GGNN) — ``targets`` and ``reproduction``.
"""
