"""One training loop for every model in the workflow: seeds, device, checkpoints, progress."""
from .core import (CheckpointMismatchError, TrainConfig, fit, load_checkpoint, predict, resolve_device,
                   save_checkpoint, seed_everything)
from .masks import train_mask_net
from .recipe import TrainedModel, model_kwargs, resume_path, save_trained, train_config, train_model

__all__ = ["CheckpointMismatchError", "TrainConfig", "fit", "predict", "resolve_device", "seed_everything",
           "save_checkpoint", "load_checkpoint", "TrainedModel", "model_kwargs", "resume_path", "save_trained", "train_config", "train_model",
           "train_mask_net"]
