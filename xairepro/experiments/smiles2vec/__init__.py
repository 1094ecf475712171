"""SMILES2vec with an explanation mask on ESOL ("Explanatory masks", section 3.3).

Character-level SMILES (DeepChem's ``SmilesToSeq`` on RDKit canonical SMILES, vocabulary from
``create_char_to_idx``, sorted) feed a torch SMILES2vec (embedding, 1D convolution, stacked
bidirectional GRUs, regression head). It is trained on a seeded random split and, beside it, on
DeepChem's scaffold split (test RMSE of each; paper 0.846 on a held-out split). A mask network (a
residual stack of SELU 1D convolutions on the frozen embedding, a length-1 convolution with batch
norm and softplus) puts one weight on each character, applied across the embedding, trained with
L1 1e-3 and L2 1e-4 on the mask while the base model stays frozen (paper: masked RMSE 0.831). The
top-3 check counts how often the three most-weighted characters of a soluble molecule
(log S >= -1) sit on O or N atoms and those of an insoluble one (log S <= -5) on C or halogen
atoms (paper 88%), for every method of ``attribution.methods`` (by default the mask, as the
registered method ``explanation_mask``, integrated gradients, BayesGrad and a random order), each
read the same way (``ranking: abs``). Characters are mapped to atoms and the scores drawn as atom
maps; a faithfulness study (deletion/insertion over characters) compares every method of
``faithfulness.methods``.

Modules: ``data`` (featurization, character-to-atom map, splits), ``training`` (``train_smiles2vec``),
``mask`` (the mask network, ``train_smiles2vec_mask``, ``load_mask_net``), ``seeds`` (the mask over
mask seeds and fitting targets, ``mask_seed_study``, ``seeds_table``), ``settings`` (the unit, what
every method is built from, the Explainer of a section), ``explain`` (readings, top-3, maps), ``study`` (``explain_study``), ``faithfulness`` (``faithfulness_study``),
``reproduction``, ``targets``; ``pyridine`` and ``pyridine_scores``: SMILES2vec's Table 1 on Tox21's pyridine label
(issue 29; the GGNN Table 1's subsets and seeds, reliance check, localisation scores).
"""
