"""questlog's contracts, settings, ids and stores: everything agents and workers share."""
