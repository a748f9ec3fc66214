"""The reader: turns papers into passages stored in the ledger."""
