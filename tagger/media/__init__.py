"""Probing and decoding with PyAV: video frames, audio samples, stream facts."""
