"""Iris: the tabular example of the chainer-chemistry saliency blog.

An MLP (one hidden layer of 48 units, ReLU, dropout 0.5; chainer-chemistry's ``MLP`` with
``n_layers=2``) is trained on all 150 iris flowers, as the blog does. Feature importance is the
mean over the flowers of the squared attribution of the classification loss with respect to the
four measurements, for every method of ``attribution.methods`` (the blog's VanillaGrad (M = 1),
SmoothGrad and BayesGrad (M = 30) by default). Beside it, a random forest's impurity importance and
permutation importance (scikit-learn); the check is that the rankings agree, petal length and width
first, as Spearman's rho. A faithfulness study (deletion/insertion over the four measurements, a
removed one set to its training mean) measures every method of ``faithfulness.methods``.

Modules: ``data`` (the table), ``training`` (``train_iris``), ``settings`` (the unit, what every method is
built from, the Explainer of a section), ``importance`` (``importance_study``),
``faithfulness`` (``faithfulness_study``), ``reproduction`` (rows for the reproduction table), ``targets``.
"""
