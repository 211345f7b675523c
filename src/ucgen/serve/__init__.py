"""`ucgen serve`: a local browser explorer of a trained run (codes, fine sliders, bit
toggles, variations of a dropped image, nearest training images). The top layer beside the
CLI: it drives a TrainedModel and serves the page with Flask."""
