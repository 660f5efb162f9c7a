"""Model weight files: where they live, how they are fetched, verified, imported and described.

``weights`` installs and loads weight files (safetensors or weights-only checkpoints, each checked
against its sha256); ``pull`` fetches them (URL or Hugging Face hub, offline-aware); ``archives``
unpacks .zip/.tar bundles with size limits; ``weight_status`` tells what each scorer has and lacks;
``cards`` keeps each installed model's card (origin, licence, evaluation); ``personal_heads`` stores
the heads the trainer fine-tunes on a user's own ratings.
"""
