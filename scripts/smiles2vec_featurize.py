"""ESOL as SMILES2vec character ids (DeepChem SmilesToSeq), with the random and scaffold splits."""
from xairepro.experiments.smiles2vec.data import featurize_esol, random_split, save, scaffold_split
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
cfg = sm.params.data
data = featurize_esol(sm.input.raw, max_len=cfg["max_len"], pad_len=cfg["pad_len"])
data.splits = {"random": random_split(len(data.y), cfg["fractions"], sm.params.seed),
               "scaffold": scaffold_split(data.smiles, cfg["fractions"])}
log.info("%d molecules, %d characters in the vocabulary, sequence length %d", len(data.y), len(data.vocab),
         data.tokens.shape[1])
save(data, sm.output.arrays, sm.output.meta)
