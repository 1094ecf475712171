"""One option vocabulary: every option of a method under ``method_options.<method>.<option>``,
top-level defaults that an experiment's own options override, and a typo stopped before any job
runs, naming the full key and the accepted options."""
from __future__ import annotations

import pytest
import yaml

from xairepro.config import ConfigError, apply_method_defaults, check_methods, resolve_scale

from conftest import REPO_ROOT, copy_workflow, run_snakemake as snakemake


def test_top_level_defaults_reach_every_section_that_lists_the_method_and_the_section_wins():
    cfg = {"scale": "quick",
           "method_options": {"smoothgrad": {"stdevs": 0.15}, "random": {"M": 5}},
           "iris": {"faithfulness": {"methods": ["smoothgrad", "random", "vanilla_grad"],
                                     "method_options": {"random": {"M": {"quick": 2, "full": 9}}}}},
           "esol": {"attribution": {"methods": ["vanilla_grad"]}}}
    quick = resolve_scale(cfg)
    assert quick["iris"]["faithfulness"]["method_options"] == {"smoothgrad": {"stdevs": 0.15}, "random": {"M": 2}}
    assert resolve_scale(cfg, "full")["iris"]["faithfulness"]["method_options"]["random"] == {"M": 9}
    # a section that lists none of the defaulted methods gets no options
    assert "method_options" not in quick["esol"]["attribution"]
    # the input is not modified
    assert "method_options" not in cfg["esol"]["attribution"]
    assert apply_method_defaults({"a": 1}) == {"a": 1}


def test_a_study_reads_its_experiments_options_over_its_merged_defaults():
    from xairepro.config import merged_method_options

    study = {"random": {"M": 5}, "my_plugin": {"power": 2.0}, "smoothgrad": {"stdevs": 0.15}}
    attribution = {"random": {"M": 1}, "occlusion": {"strides": [3, 2, 2]}, "smoothgrad": {"noise_mode": "relative"}}
    got = merged_method_options(["random", "my_plugin", "occlusion", "smoothgrad", "vanilla_grad"], study, attribution)
    assert got == {"random": {"M": 1}, "my_plugin": {"power": 2.0}, "occlusion": {"strides": [3, 2, 2]},
                   "smoothgrad": {"stdevs": 0.15, "noise_mode": "relative"}}


def test_an_unknown_option_names_the_full_key_and_the_accepted_options():
    bad = {"iris": {"faithfulness": {"methods": ["integrated_gradients"],
                                     "method_options": {"integrated_gradients": {"n_step": 8}}}}}
    with pytest.raises(ConfigError, match=r"iris\.faithfulness\.method_options\.integrated_gradients\.n_step: "
                                          r"integrated_gradients has no option 'n_step'; it accepts .*\bn_steps\b"):
        check_methods(bad)
    with pytest.raises(ConfigError, match=r"^method_options\.random\.n_random: "):
        check_methods({"method_options": {"random": {"n_random": 3}}})
    # M and aggregation are every method's options; a real option passes
    check_methods({"iris": {"faithfulness": {"method_options": {
        "integrated_gradients": {"n_steps": 8, "M": 1, "aggregation": "abs"}}}}})


def test_a_plugin_methods_options_are_checked_against_its_own_constructor(tmp_path):
    from xairepro.config import load_plugins

    plugin = tmp_path / "opt_plugin.py"
    plugin.write_text("from xairepro.attribution import register_method\n"
                      "from xairepro.attribution.gradients import VanillaGrad\n\n"
                      "@register_method('opt_plugin_grad')\nclass OptGrad(VanillaGrad):\n"
                      "    def __init__(self, model, layer=None, *, temperature: float = 1.0, **kwargs):\n"
                      "        super().__init__(model, layer, **kwargs)\n"
                      "        self.temperature = temperature\n")
    load_plugins({"plugins": ["opt_plugin.py"]}, tmp_path)
    check_methods({"iris": {"faithfulness": {"methods": ["opt_plugin_grad"],
                                             "method_options": {"opt_plugin_grad": {"temperature": 2.0}}}}})
    with pytest.raises(ConfigError, match=r"opt_plugin_grad\.temprature: .*temperature"):
        check_methods({"iris": {"faithfulness": {"methods": ["opt_plugin_grad"],
                                                 "method_options": {"opt_plugin_grad": {"temprature": 2.0}}}}})


def test_the_repository_config_passes_the_option_check_at_every_scale():
    cfg = yaml.safe_load((REPO_ROOT / "config.yaml").read_text())
    for scale in ("quick", "cpu", "full"):
        check_methods(resolve_scale(cfg, scale))


@pytest.mark.slow
def test_the_n_step_typo_stops_the_workflow_before_any_job(tmp_path):
    wf = copy_workflow(tmp_path / "wf", {"iris": {"faithfulness": {
        "method_options": {"integrated_gradients": {"n_step": 8}}}}})
    proc = snakemake(wf, "--cores", "1", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "iris.faithfulness.method_options.integrated_gradients.n_step" in out
    assert "n_steps" in out  # the accepted options are listed
    assert not (wf / "results").exists() or not any((wf / "results").rglob("*.csv"))
    assert "Finished job" not in out
