"""comp-trust-artifact: reproduce "Decoding Compressed Trust" (Hong et al., ICML 2024)."""

__version__ = "0.1.0"
