# Raw data downloads: one rule per file in the registry (xairepro/data/sources.py), named
# download_<key>. With a mirror (config data_mirror or $XAIREPRO_DATA_MIRROR) each file is
# copied from the local folder and checked against its SHA256SUMS; otherwise it is downloaded
# from the canonical URL and checked against the published checksum. Downloads run on the
# submitting host (localrule), because compute nodes often have no internet. Where a file comes
# from (the mirror folder, the URL), retries and timeout are read by the script, not passed as
# params: a verified file's identity is its checksum, so moving the mirror or tuning the download
# never re-downloads a file, nor reruns anything downstream of it.

from xairepro.data.sources import SOURCES, raw_path


for _source in SOURCES.values():

    rule:
        name:
            f"download_{_source.key}"
        output:
            raw_path(_source.key, config["data_dir"], mirror=MIRROR is not None),
        params:
            key=_source.key,
        log:
            log_path("data", f"download_{_source.key}"),
        localrule: True
        priority: DOWNLOAD_PRIORITY.get(_source.key, 0)
        resources:
            **resources(1000, runtime=60),
        conda:
            CONDA_ENV
        script:
            "../scripts/download.py"
