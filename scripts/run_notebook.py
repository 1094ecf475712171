"""Execute a papermill template with the rule's parameters (figures are written by the notebook)."""
import papermill as pm

from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
params = dict(sm.params.parameters)
log.info("executing %s with %s", sm.input.notebook, params)
pm.execute_notebook(sm.input.notebook, sm.output.notebook, parameters=params, kernel_name="python3",
                    progress_bar=False, log_output=True, cwd=None)
