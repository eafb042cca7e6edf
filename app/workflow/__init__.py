"""The fund's daily work: requests, approvals, payments, donations, seals, checks.

Every rule lives here, once; routes and CLI commands call one function each. Each
function opens its own database session; nothing above this package touches the ORM.
"""
