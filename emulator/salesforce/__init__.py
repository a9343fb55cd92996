"""A local Salesforce org speaking enough of the REST API for simple-salesforce.

Entry point: `syncledger.emulator.salesforce.app.build_app(token, data)`.
"""
