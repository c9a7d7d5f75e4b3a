"""Django admin for billing (invoices, payments, expenses arrive with the billing issues).

Register billing models with studio.admin.RoleGatedAdmin (owners_only = False) so that
only owners and producers see them.
"""
