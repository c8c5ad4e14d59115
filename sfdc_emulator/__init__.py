"""A local Salesforce that speaks the real wire protocol over HTTPS.

See README.md in this package for how to start it and what it emulates.
"""
