"""Risk early-warning and alert delivery (风险预警处置). Filled in by the alerting issue."""
