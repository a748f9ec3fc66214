"""Evidence out of the ledger and back: export items and keys (`items`), the formats (`formats`),
reading an exported CSV back (`csv_import`). The commands are in `questlog.cli_export`."""
