"""Tox21 as SMILES2vec reads it for the pyridine task: canonical SMILES as character ids in the order
of the featurized graphs (the positions of the Tox21 splits), the evidence characters and the
benzene analogues of the validation pyridine molecules."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.smiles2vec.pyridine import featurize_pyridine, save
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
graphs = load_graphs(sm.input.graphs).graphs
data = featurize_pyridine([g.smiles for g in graphs], read_json(sm.input.splits), **sm.params.data)
save(data, sm.output.arrays, sm.output.meta)
log.info("%d molecules, %d longer than max_len = %d; vocabulary of %d; %d validation pyridine molecules that fit, "
         "%d with a benzene analogue", len(data.smiles), int((~data.fits).sum()), data.max_len, len(data.vocab),
         len(data.evaluation), int(data.removable.sum()))
