"""Adopting standards (有标采标): documents taken from an upstream QMS repository."""
