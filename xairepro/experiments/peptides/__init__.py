"""Hemolytic peptides: the dmol.pub interpretability chapter, sections 10.3-10.6.

The chapter's convolutional classifier (three Conv1D(16) layers, kernels 5/3/3, tanh, max-pooling
4/2/2 under the padding mask, amino-acid fractions and length concatenated, dense 256 -> 64 -> 1
without bias) is trained on the one-hot peptides with a gap channel for padding, shuffled before
the 10% test / 10% validation split, batch 16, Adam 1e-2, 32 epochs. Then, for the hemolytic
peptide RAGLQFPVGRLLRRLLRRLLR: the gradient, integrated gradients (zero baseline), SmoothGrad
(sigma 1e-3, clipped and renormalised) and Shapley values (chimera estimator, eq. 10.9) per
residue; the sum of the Shapley values against the model's output as the sample count grows
(Fig. 10.1); every single-substitution counterfactual that flips the prediction. A faithfulness
study (deletion/insertion over residues) compares the four methods on the test peptides.

Modules: ``data``, ``training``, ``explain`` (the chapter's study), ``faithfulness``,
``reproduction``, ``targets``.
"""
