"""China Customs cross-border e-commerce (CEB) messages."""
