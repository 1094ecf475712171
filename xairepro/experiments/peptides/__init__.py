"""Hemolytic peptides: the dmol.pub interpretability chapter, sections 10.3-10.6.

The chapter's convolutional classifier (three Conv1D(16) layers, kernels 5/3/3, tanh, max-pooling
4/2/2 under the padding mask, amino-acid fractions and length concatenated, dense 256 -> 64 -> 1
without bias) is trained on the one-hot peptides with a gap channel for padding, shuffled before
the 10% test / 10% validation split, batch 16, Adam 1e-2, 32 epochs. Then, for the hemolytic
peptide RAGLQFPVGRLLRRLLRRLLR, every method of ``attribution.methods`` per residue on the one-hot
input (by default the gradient, integrated gradients with a zero baseline, SmoothGrad with sigma
1e-3 clipped and renormalised, and chimera Shapley values, eq. 10.9); the sum of the Shapley
values against the model's output as the sample count grows (Fig. 10.1); every single-substitution
counterfactual that flips the prediction. A faithfulness study (deletion/insertion over residues)
compares every method of ``faithfulness.methods`` on the test peptides.

Modules: ``data``, ``training`` (``train_peptides``), ``settings`` (the unit, what every method is built
from, :class:`~.settings.PeptideExplainer`), ``explain`` (``explain_study``, ``seed_shapley_study``),
``faithfulness`` (``faithfulness_study``), ``reproduction``, ``targets``.
"""
