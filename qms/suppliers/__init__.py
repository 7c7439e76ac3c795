"""External providers (ISO 9001 §8.4): the register, evaluations, status and NCs."""
