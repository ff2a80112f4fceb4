"""Data sets: generated on the fly, or shipped with the package. No downloads."""
