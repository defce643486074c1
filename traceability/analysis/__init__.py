"""Analysis over the graph and the ledger: trace, recall, findings."""
