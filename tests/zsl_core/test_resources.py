"""The shipped resources are found (checkout or installed package) and hold what the default model needs."""

from zsl_core.resources import resource_path, resources_dir


def test_resources_hold_models_vectors_and_vocabulary():
    root = resources_dir()
    assert (root / "models" / "MSD_musicnn" / "model.safetensors").is_file()
    assert (root / "models" / "MTT_musicnn" / "config.json").is_file()
    assert resource_path("vectors", "glove-6B-50d.npz").is_file()
    assert list(resource_path("vocab").glob("*.txt"))
    assert (root / "models" / "LICENSE-musicnn.txt").is_file()
