"""Known-answer tasks in every modality (issue 29): the BayesGrad paper's Table 1 protocol (a model
trained on a label whose evidence is known; each method's PRC-AUC against that evidence) on tables,
images, text and peptides.

* :mod:`.planting`: the pure functions that plant a pattern and return its evidence mask;
* :mod:`.tasks`: each task generated from the experiment's data with a fixed seed;
* :mod:`.modalities`: each task trained, predicted and explained with its experiment's pieces;
* :mod:`.reliance`: the reliance check (present / removed / swapped) and its verdict;
* :mod:`.study`: one model checked and scored; :mod:`.gather`: summaries and comparisons over models.
"""
from .gather import comparisons, localisation_scores, summary
from .reliance import CONDITIONS, depends_on_evidence, relies, reliance_table
from .study import LOCALISATION_TABLE_COLUMNS, ScoredModel, score_model
from .tasks import MODALITIES, TASKS, load_task, save_task

__all__ = ["CONDITIONS", "LOCALISATION_TABLE_COLUMNS", "MODALITIES", "ScoredModel", "TASKS", "comparisons",
           "depends_on_evidence", "load_task", "localisation_scores", "relies", "reliance_table", "save_task",
           "score_model", "summary"]
