"""syncledger: an event-sourced two-way sync engine between a sales-engagement app and CRMs."""
