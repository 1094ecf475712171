# Raw data downloads: one rule per file in the registry (xairepro/data/sources.py), named
# download_<key>. With a mirror (config data_mirror or $XAIREPRO_MIRROR) each file is
# copied from the local folder and checked against its SHA256SUMS; otherwise it is downloaded
# from the canonical URL and checked against the published checksum. Downloads run on the
# submitting host (localrule), because compute nodes often have no internet. Retries and timeout
# are read from config by the script, not passed as params, so that tuning them never
# re-downloads a file that is already verified.

from xairepro.data.sources import SOURCES, raw_path


for _source in SOURCES.values():

    rule:
        name:
            f"download_{_source.key}"
        output:
            raw_path(_source.key, config["data_dir"], mirror=MIRROR is not None),
        params:
            key=_source.key,
            mirror=MIRROR,
        log:
            f"results/logs/data/download_{_source.key}.log",
        localrule: True
        resources:
            mem_mb=1000,
            runtime=60,
        script:
            "../scripts/download.py"
