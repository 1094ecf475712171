"""Helpers shared by the attribution methods, one concern per module (as captum's ``_utils``):

``modes``          model train/eval flags, MC dropout, the forked RNG
``batching``       graph batches, tensors and tuples: counting, replicating, splitting, calling
``hooks``          the one forward-hook implementation (attribution taps, mask application, unit removal)
``scores``         model output -> one score per example (the output index ``target``)
``passes``         replicated forward/backward passes with a perturbation at the input or a layer
``tuples``         tuple inputs as one flat batch of features
``feature_masks``  feature groups, sliding windows and their validation
"""
