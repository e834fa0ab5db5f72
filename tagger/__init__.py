"""tagger: multimodal content tagging and metadata for film and TV titles."""

__version__ = "0.1.0"
