"""Runtime services every layer above uses: processes (torch.distributed), threads and precision,
the training-stage protocol and training-state checkpoints."""
