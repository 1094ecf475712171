"""Fetch one raw data file (rules/data.smk): canonical URL or local mirror, checksum-verified."""
from xairepro.config import data_mirror
from xairepro.data.download import fetch_to
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
# Mirror, retries and timeout come from config (or $XAIREPRO_DATA_MIRROR), not params: changing
# them must not re-download a verified file.
download = sm.config.get("download", {})
try:
    fetch_to(sm.params.key, sm.output[0], mirror=data_mirror(sm.config), retries=download.get("retries", 3),
             timeout_s=download.get("timeout_s", 120), log=log)
except Exception:
    log.exception("download of %s failed", sm.params.key)
    raise
