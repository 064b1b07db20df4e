"""Governance: entrustment chains, who may read which owner's personal data, and where it lies.

Works on the model tables only (registry and logs); it judges nothing audit or trace decided.
"""

from kansa.govern.access import access
from kansa.govern.chains import chains
from kansa.govern.datamap import data_map

__all__ = ["access", "chains", "data_map"]
