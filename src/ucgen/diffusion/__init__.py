"""The diffusion formulation (EDM) and the sampler that runs it: conditions in, images out (no
training, no weights of their own)."""
