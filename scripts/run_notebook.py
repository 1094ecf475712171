"""Execute a papermill template with the rule's parameters: its own, ``inputs`` ({name: path} of the results it
reads) and ``figures`` ({name: path} of the figures it writes)."""
import papermill as pm

from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
params = dict(sm.params.parameters)
log.info("executing %s with %s", sm.input.notebook, params)
pm.execute_notebook(sm.input.notebook, sm.output.notebook, parameters=params, kernel_name="python3",
                    progress_bar=False, log_output=True, cwd=None)
