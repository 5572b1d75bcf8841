"""Training on the writer's own texts, without Qt: the folder scan and the
held-out split, the training job's command line and environment, the checks
before starting, the metrics reader and the library of trained models.

The app (writer_app/ui/training/dialog.py) drives these; the training itself runs
in a separate `writer-finetune train` process.
"""

from writer_app.training.errors import TrainingError

__all__ = ["TrainingError"]
