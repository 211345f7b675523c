"""Training: one loop for every stage of every method."""
