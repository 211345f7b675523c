"""Files: atomic writes, safetensors components, training state and run folders."""
