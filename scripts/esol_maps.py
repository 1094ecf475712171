"""Signed atom maps of the molecules named in config esol.map_molecules (fold-model ensemble)."""
from xairepro.experiments.esol import map_attributions
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint, resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
device = resolve_device(sm.params.device)
models = [load_checkpoint(p, device)[0] for p in sm.input.models]
records = map_attributions(models, sm.params.cfg["map_molecules"], sm.params.cfg, sm.params.seed,
                           sm.params.max_batch, device)
write_json(records, sm.output.maps)
