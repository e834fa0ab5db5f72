"""Tagging: the taxonomy (facets, tags, rules, micro-genre grammar) and micro-genre naming."""
