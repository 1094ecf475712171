"""One training loop for every model in the workflow: seeds, device, checkpoints, progress."""
from .core import (TrainConfig, fit, load_checkpoint, predict, resolve_device, save_checkpoint,
                   seed_everything)

__all__ = ["TrainConfig", "fit", "predict", "resolve_device", "seed_everything",
           "save_checkpoint", "load_checkpoint"]
