"""Local CRM servers that speak the Salesforce REST and Pipedrive wire protocols.

Nothing here imports the rest of syncledger: an emulator is a stand-in CRM.
"""
