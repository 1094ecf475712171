"""IMDB sentiment: "Explanatory masks" section 3.2 and the recurrent-model part of "Gradients of
counterfactuals" (section 3.2, word attributions that add up to the prediction; saturation).

Modules, in pipeline order: ``data`` (tokenize, vocabulary, token cache, optional GloVe),
``training`` (``train_text``: the BiGRU classifier through the project's training loop),
``settings`` (the word unit, the one settings dict every method is built from, the explainer of
``text.attribution``), ``words`` (a word's score: the per-chunk reduction over embedding channels),
``attributions`` (``word_attribution_study``: the methods of ``text.attribution.methods`` per word;
IG completeness, saturation path, the Figures 9-10 table), ``masks`` (``train_text_mask``,
``mask_study``: the explanation mask network, masked accuracy, top words), ``faithfulness``
(``word_faithfulness_study``: word deletion curves, AOPC of ``text.faithfulness.methods``),
``reproduction`` (rows of the reproduction table), ``targets`` (the paper values and checks).
"""
