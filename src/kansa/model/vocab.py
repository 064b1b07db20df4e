"""The closed vocabularies of the access model.

Every source maps its own words onto these, so that audit and trace compare like with like.
They are plain string constants (stored as VARCHAR) so that a new source never needs a migration
to add a synonym, only a mapping.
"""

from __future__ import annotations

from typing import Final

# What an actor did to personal data (or to the system that holds it).
ACTIONS: Final = (
    "view",      # one record shown
    "search",    # a query that returns a list of candidates
    "export",    # rows leave the system: download, COPY TO, report file, bulk SELECT
    "update",
    "insert",
    "delete",
    "print",
    "login",
    "logout",
    "admin",     # DDL, role changes, configuration
    "other",
)

# Actions that let personal data leave the screen.
EXFIL_ACTIONS: Final = ("export", "print")

OUTCOMES: Final = ("success", "failure", "unknown")

ORG_KINDS: Final = ("owner", "entrustee", "subcontractor", "staffing_agency")

ROLES: Final = (
    "operator",
    "supervisor",
    "maintainer",   # system maintenance, often with admin rights
    "dba",
    "clerk",
    "manager",
    "auditor",
    "data_entry",
    "service",      # a technical account behind an application
)

# Data categories, as the APPI and the owners' contracts speak of them.
CATEGORIES: Final = (
    "basic",             # name, address, phone, birth date
    "contact",
    "tax",
    "health",            # health check results: sensitive (要配慮)
    "sensitive",
    "financial",         # card numbers, bank accounts
    "my_number",         # 特定個人情報
    "resident_registry", # 住民基本台帳
    "customer",
)

ENDPOINT_KINDS: Final = (
    "logon",
    "logoff",
    "usb_connect",
    "usb_disconnect",
    "file_copy",        # a file written to removable media (or read from it)
    "file_open",
    "http",
    "email",
)

# Where an event came from.
SOURCE_SYSTEMS: Final = ("pgaudit", "postgresql", "access", "ocsf", "cert", "manual")  # postgresql: sessions (C1)
