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
