"""Framework loggers that write to artstore runs, shaped like W&B's own integrations.

- :mod:`artstore.integrations.lightning`: ``ArtstoreLogger``, a PyTorch Lightning logger
  (``pip install 'artstore[lightning]'``).
- :mod:`artstore.integrations.transformers`: ``ArtstoreCallback``, a Hugging Face
  ``transformers`` ``TrainerCallback`` (``pip install 'artstore[transformers]'``).

Each module imports its framework when it is imported; this package imports neither, so
``import artstore`` never loads them.
"""

__all__: list[str] = []
