"""Methods as choices of three parts: semantic encoder, condition sampler, pixel generator."""
