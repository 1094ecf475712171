"""Tokenize IMDB once: vocabulary, token-id tensors (and GloVe rows when configured) cached."""
from xairepro.experiments.text.data import prepare, save_cache
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
glove = sm.input.glove[0] if len(sm.input.glove) else None
cache, summary = prepare(sm.input.imdb, sm.params.data, sm.params.seed, glove_path=glove,
                         embed_dim=sm.params.embed_dim)
save_cache(cache, sm.output.cache)
with open(sm.output.vocab, "w", encoding="utf-8") as fh:
    fh.write("\n".join(cache["vocab"]) + "\n")
write_json(summary, sm.output.summary)
log.info("%s", summary)
