"""RCG (Li, Katabi, He, NeurIPS 2024): P(x) = P(x | r) P(r), r a self-supervised representation."""
