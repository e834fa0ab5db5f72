"""Audio analysis: frame-level features, scene summaries and a heuristic mood estimate."""
