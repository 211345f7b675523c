"""The application: train a run (the driver), use a trained one (TrainedModel) and evaluate it.
The command line and the explorer are thin layers over these."""
