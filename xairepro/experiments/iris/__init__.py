"""Iris: the tabular example of the chainer-chemistry saliency blog.

An MLP (one hidden layer of 48 units, ReLU, dropout 0.5; chainer-chemistry's ``MLP`` with
``n_layers=2``) is trained on all 150 iris flowers, as the blog does. Feature importance is the
mean over the flowers of the squared gradient of the classification loss with respect to the four
measurements: VanillaGrad (M = 1), SmoothGrad and BayesGrad (M = 30). Beside it, a random
forest's impurity importance and permutation importance (scikit-learn); the check is that the
rankings agree, petal length and width first, as Spearman's rho.

Modules: ``data`` (the table), ``training`` (the MLP recipe), ``importance`` (the study),
``reproduction`` (rows for the reproduction table), ``targets``.
"""
