"""recon: prove every night that a partner's books and Starship's agree."""

__version__ = "0.1.0"
