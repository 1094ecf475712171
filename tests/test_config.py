import pytest
import yaml

from xairepro.config import ConfigError, data_mirror, load_config, resolve_scale, validate_config

from conftest import REPO_ROOT


def repo_config():
    return yaml.safe_load((REPO_ROOT / "config.yaml").read_text())


def test_repository_config_is_valid_for_both_scales():
    cfg = repo_config()
    validate_config(cfg)
    quick, full = resolve_scale(cfg, "quick"), resolve_scale(cfg, "full")
    assert quick["esol"]["train"]["epochs"] < full["esol"]["train"]["epochs"]
    assert quick["esol"]["attribution"]["mc_samples"] < full["esol"]["attribution"]["mc_samples"]
    # values that are not per-scale are shared
    assert quick["esol"]["models"]["nfp"]["dropout"] == full["esol"]["models"]["nfp"]["dropout"] == 0.25


def test_every_experiment_section_has_the_same_shape():
    from xairepro.config import load_schema

    schema = load_schema()
    sections = [k for k, v in repo_config().items() if isinstance(v, dict) and "models" in v]
    assert {"esol", "tox21"} <= set(sections)
    for name in sections:
        props = schema["properties"][name]["properties"]
        refs = [props["models"]] + props["models"].get("allOf", [])  # the shared definition, maybe narrowed
        assert {"$ref": "#/definitions/models"} in refs, name
        assert props["train"] == {"$ref": "#/definitions/train_spec"}, name
        assert "attribution" in props, name


def test_unknown_key_is_rejected_with_its_name():
    cfg = repo_config()
    cfg["esol"]["train"]["epoch"] = 3  # typo of "epochs"
    with pytest.raises(ConfigError, match=r"esol\.train: unknown key.*'epoch'"):
        validate_config(cfg)


def test_wrong_type_names_the_nested_key():
    cfg = repo_config()
    cfg["esol"]["models"]["nfp"]["dropout"] = 1.5
    with pytest.raises(ConfigError, match=r"esol\.models\.nfp\.dropout"):
        validate_config(cfg)


def test_bad_scale_and_device_are_rejected():
    for key, value in (("scale", "huge"), ("device", "gpu0")):
        cfg = repo_config()
        cfg[key] = value
        with pytest.raises(ConfigError, match=key):
            validate_config(cfg)


def test_by_scale_mapping_must_have_both_scales():
    cfg = repo_config()
    cfg["esol"]["train"]["epochs"] = {"quick": 3}
    with pytest.raises(ConfigError, match=r"esol\.train\.epochs"):
        validate_config(cfg)


def test_load_config_applies_overrides_and_resolves(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text((REPO_ROOT / "config.yaml").read_text())
    cfg = load_config(path, overrides={"scale": "full"})
    assert cfg["esol"]["train"]["epochs"] == repo_config()["esol"]["train"]["epochs"]["full"]


def test_mirror_from_config_or_environment(monkeypatch):
    monkeypatch.delenv("XAIREPRO_DATA_MIRROR", raising=False)
    assert data_mirror({"data_mirror": None}) is None
    monkeypatch.setenv("XAIREPRO_DATA_MIRROR", "/env/mirror")
    assert data_mirror({"data_mirror": None}) == "/env/mirror"
    assert data_mirror({"data_mirror": "/cfg/mirror"}) == "/cfg/mirror"


def test_unregistered_model_is_named():
    from xairepro.config import check_models

    cfg = resolve_scale(repo_config())
    check_models(cfg)  # the shipped models are registered
    cfg["esol"]["models"]["mine"] = {"arch": "my_gnn"}
    with pytest.raises(ConfigError, match=r"esol\.models\.mine\.arch.*my_gnn"):
        check_models(cfg)


def test_cuda_device_without_cuda_is_refused_naming_the_key(monkeypatch):
    import torch

    from xairepro.config import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"^device: 'cuda' asks for a CUDA device"):
        check_device({"device": "cuda"})
    with pytest.raises(ConfigError, match=r"^device: 'cuda:1'"):
        check_device({"device": "cuda:1"})
    check_device({"device": "auto"})  # auto falls back to the CPU, never an error
    check_device({"device": "cpu"})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device({"device": "cuda:0"})
    with pytest.raises(ConfigError, match=r"cuda:3.*has 1 CUDA device"):
        check_device({"device": "cuda:3"})


def test_unknown_attribution_method_is_named_with_its_key_and_the_registered_names():
    from xairepro.config import check_methods

    cfg = {"esol": {"faithfulness": {"methods": ["vanilla_grad", "gradient"]}}}
    with pytest.raises(ConfigError, match=r"esol\.faithfulness\.methods: unknown attribution method\(s\) "
                                          r"\['gradient'\]; registered: vanilla_grad, input_x_gradient"):
        check_methods(cfg)
    with pytest.raises(ConfigError, match=r"vision\.aopc\.method_options: unknown .*'ig'"):
        check_methods({"vision": {"aopc": {"method_options": {"ig": {"n_steps": 4}}}}})
    check_methods({"esol": {"faithfulness": {"methods": ["vanilla_grad", "random"]}}})


def test_a_plugin_file_registers_its_method_for_the_config_check(tmp_path):
    from xairepro.attribution import method_names
    from xairepro.config import check_methods, load_plugins

    plugin = tmp_path / "my_methods.py"
    plugin.write_text("from xairepro.attribution import register_method\n"
                      "from xairepro.attribution.gradients import VanillaGrad\n\n"
                      "@register_method('my_plugin_grad')\nclass MyGrad(VanillaGrad):\n    pass\n")
    cfg = {"plugins": ["my_methods.py"], "iris": {"faithfulness": {"methods": ["my_plugin_grad"]}}}
    load_plugins(cfg, tmp_path)
    assert "my_plugin_grad" in method_names()
    check_methods(cfg)
    with pytest.raises(ConfigError, match=r"plugins: no file .*absent\.py"):
        load_plugins({"plugins": ["absent.py"]}, tmp_path)
    with pytest.raises(ConfigError, match=r"plugins: cannot import 'no_such_module_xyz'"):
        load_plugins({"plugins": ["no_such_module_xyz"]}, tmp_path)
