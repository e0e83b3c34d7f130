"""Which leads sales should call first, and why: features, the conversion model, scores."""
