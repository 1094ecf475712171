"""IMDB sentiment: "Explanatory masks" section 3.2 and the recurrent-model part of "Gradients of
counterfactuals" (section 3.2, word attributions that add up to the prediction; saturation).

Modules, in pipeline order: ``data`` (tokenize, vocabulary, token cache, optional GloVe),
``training`` (the BiGRU classifier through the project's training loop), ``attributions``
(integrated gradients, gradient, SmoothGrad, BayesGrad and occlusion per word; completeness,
saturation path, the Figures 9-10 table), ``masks`` (the explanation mask network, masked
accuracy, top words), ``faithfulness`` (word deletion curves, AOPC), ``reproduction`` (rows of the
reproduction table), ``targets`` (the paper values and checks).
"""
